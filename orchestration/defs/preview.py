"""The contract-change preview (preview/) as the job `contract_preview`: the same as
`make preview`, with the proposed folder, the adoption day and the report folder as run
config. Its op uses no `warehouse` resource on purpose: that resource holds the run lock
for a whole run, and the preview needs it only while it copies the warehouse.
"""

from datetime import date
from pathlib import Path

import dagster as dg

from preview.proposal import ContractRefused
from preview.report import default_out
from preview.run import run_preview

CONTRACT_PREVIEW_JOB = "contract_preview"


class PreviewConfig(dg.Config):
    """What to preview: the folder of proposed seed files, adopted from `from_date` on
    (YYYY-MM-DD; default the working marts' night) and restating all history."""

    contract: str
    from_date: str | None = None
    out: str | None = None  # default: reports/contract-preview/ beside the warehouse
    as_of: str | None = None  # the working marts' night, when their fct_sla is empty


@dg.op(
    description="Validate a proposed lead contract, build it in a scratch copy and "
    "write the preview report."
)
def preview_contract(context: dg.OpExecutionContext, config: PreviewConfig) -> str:
    """The report's JSON path; a contract that does not validate fails the run with the
    validation's messages."""
    start = date.fromisoformat(config.from_date) if config.from_date else None
    try:
        report = run_preview(Path(config.contract), start, config.as_of, log=context.log.info)
    except ContractRefused as refused:
        raise dg.Failure(description=str(refused)) from None
    paths = report.write(Path(config.out) if config.out else default_out())
    context.log.info(f"contract preview: {paths['html']}")
    counts = {name: found["counts"]["people"] for name, found in report.changes.items()}
    context.add_output_metadata(
        {
            **{f"people changed ({k})": v for k, v in counts.items()},
            "report": dg.MetadataValue.path(str(paths["html"])),
        }
    )
    return str(paths["json"])


@dg.job(
    name=CONTRACT_PREVIEW_JOB,
    description="Preview a proposed lead contract against the working marts (docs/"
    "contract-changes.md), as `make preview CONTRACT=<folder>` does.",
    tags={"leadbridge/job": "contract_preview"},
)
def contract_preview_job() -> None:
    preview_contract()
