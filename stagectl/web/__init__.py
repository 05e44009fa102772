"""The floor's remote: a small web app the stage serves to phones and tablets (docs/web.md)."""
