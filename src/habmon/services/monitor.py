"""The monitor: the application services the CLI and the web app call, as one object acting for one principal."""

from __future__ import annotations

from habmon.services.reads import DataReads
from habmon.services.reference import ReferenceData
from habmon.services.shipped import ShippedData
from habmon.services.uncertainty import UncertaintyReads


class Monitor(ReferenceData, ShippedData, DataReads, UncertaintyReads):
    """One store, acting for one principal: set up and load (:mod:`~habmon.services.reference`,
    :mod:`~habmon.services.shipped`), read reference data (:mod:`~habmon.services.reading`) and stored data
    (:mod:`~habmon.services.reads`) and their uncertainty (:mod:`~habmon.services.uncertainty`), every operation
    authorized (:mod:`~habmon.services.authorization`)."""
