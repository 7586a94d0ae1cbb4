"""Orchestration: study file -> layers -> criteria -> overlay -> sites -> power grid -> outputs.

This package only wires stages together; each computation lives in its stage's module.
"""

from gridsite.study.inputs import check_inputs, used_layers
from gridsite.study.progress import Progress
from gridsite.study.result import (
    SITE_COLUMNS,
    StudyResult,
    check_outputs_free,
    grid_output_names,
    output_names,
    write_grid_outputs,
)
from gridsite.study.run import GridModel, ProgressCallback, Study
from gridsite.study.sensitivity import (
    SENSITIVITY_OUTPUTS,
    rank_spread,
    weight_sensitivity,
    write_sensitivity,
)

__all__ = [
    "SENSITIVITY_OUTPUTS",
    "SITE_COLUMNS",
    "GridModel",
    "Progress",
    "ProgressCallback",
    "Study",
    "StudyResult",
    "check_inputs",
    "check_outputs_free",
    "grid_output_names",
    "output_names",
    "rank_spread",
    "used_layers",
    "weight_sensitivity",
    "write_grid_outputs",
    "write_sensitivity",
]
