"""Protocol implementations. Importing this package registers every protocol with protosim."""

from . import baselines  # noqa: F401
from . import demo  # noqa: F401
from . import euclidean  # noqa: F401
