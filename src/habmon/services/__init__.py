"""Services: the operations the CLI and the web app call. No printing, no argument parsing.

A :class:`Monitor` wraps one store. ``init`` loads the plan, the indicator registry,
the geography and the engagement list; ``load_shipped`` adds the real public data
shipped with habmon. Every load is idempotent: the same content twice changes nothing.

The services are a package of small modules, one use case each: loading reference data (``reference``) and
recorded or shipped data (``shipped``), reading plan, registry and geography (``reading``), reading series and the
audit log (``reads``), authorizing the principal (``authorization``); :class:`Monitor` (``monitor``) composes them.
Every name is importable from ``habmon.services`` as before.
"""

from habmon.services.monitor import Monitor
from habmon.services.reads import Series
from habmon.services.reference import ILLUSTRATIVE_ENGAGEMENTS, ILLUSTRATIVE_LABEL, geography_digest, registry_digest
from habmon.services.steps import LoadStep, ProgressCallback

__all__ = [
    "ILLUSTRATIVE_ENGAGEMENTS",
    "ILLUSTRATIVE_LABEL",
    "LoadStep",
    "Monitor",
    "ProgressCallback",
    "Series",
    "geography_digest",
    "registry_digest",
]
