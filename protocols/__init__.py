"""Protocol implementations. Importing this package registers every protocol with protosim."""

from . import demo  # noqa: F401
