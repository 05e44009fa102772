"""Conform sources: camera media, ALE, CSV and cuts read into clips; the enriched ALE written."""
