"""Protocol implementations. Importing this package registers every protocol with protosim."""

from . import demo  # noqa: F401
from . import euclidean  # noqa: F401
