"""Where every rmbc process keeps its state on disk: one place, absolute, the same whichever
directory a service is started from.

`RMBC_STATE_DIR` names it; by default it is `.rmbc` in the project's folder. Each service keeps its
own sub-folder (`broker/`, `classifier/`, `notifier/`), created when first needed; a service's own
variable (RMBC_CLASSIFIER_DATA_DIR, RMBC_NOTIFIER_STATE_DIR) still moves just that one, as the
container deployments do with their volumes."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def state_root() -> Path:
    return Path(os.environ.get("RMBC_STATE_DIR") or PROJECT_ROOT / ".rmbc").absolute()


def service_state_dir(service: str) -> Path:
    """The default folder of `service`'s state (not created here: the service creates it)."""
    return state_root() / service
