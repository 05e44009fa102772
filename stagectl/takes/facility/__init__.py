"""The facility store: every stage's takes replicated to one shared PostgreSQL database, read by post.

The stage keeps its crash-safe local store (:mod:`stagectl.takes.store`) as the source of truth; a
:class:`Replicator` thread copies each take to the facility database in the background (idempotent
writes keyed by stage, take and batch, resumed from where the database says it is), and a
:class:`FacilityStore` reads takes of any stage back in the shapes the CLI, exporters and conform use.
The schema is versioned (:func:`migrate`, :func:`schema_version`); see docs/facility.md.
"""

from stagectl.takes.facility.model import FacilityError, FacilitySettings, ReplicationStatus, TakeSync
from stagectl.takes.facility.pgstore import FacilityStore
from stagectl.takes.facility.replicate import Replicator
from stagectl.takes.facility.schema import SCHEMA_VERSION, migrate, schema_version

__all__ = ["SCHEMA_VERSION", "FacilityError", "FacilitySettings", "FacilityStore", "ReplicationStatus",
           "Replicator", "TakeSync", "migrate", "schema_version"]
