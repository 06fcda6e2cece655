"""Users, roles and authorization: who may do what, decided in the service layer (see docs/access.md)."""

from habmon.access.model import Action, Principal, Role
from habmon.access.policy import Forbidden, allowed, authorize

__all__ = ["Action", "Forbidden", "Principal", "Role", "allowed", "authorize"]
