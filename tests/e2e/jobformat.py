"""Checks of a Rundeck job file against the documented job-yaml format (job-yaml-v12/v13).

Written from Rundeck's "JOB-YAML" reference: the document is a sequence of job maps; a job
requires ``name``, ``description`` (may be blank), ``loglevel`` and ``sequence``; a
sequence requires ``keepgoing``, ``strategy`` and ``commands``; each command is exactly one
of exec/script/scriptfile/scripturl/jobref/plugin; options are a list of maps with
``name``; ``nodefilters`` holds a ``filter`` string and ``dispatch`` settings. Unknown keys
are reported too: Rundeck ignores them silently, which hides typos such as ``valueUrl``.
"""

from __future__ import annotations

import re
from typing import Any

LOGLEVELS = {"DEBUG", "VERBOSE", "INFO", "WARN", "ERROR"}
JOB_KEYS = {
    "name", "description", "loglevel", "sequence", "uuid", "id", "group", "project",
    "multipleExecutions", "timeout", "retry", "loglimit", "loglimitAction", "loglimitStatus",
    "options", "schedule", "scheduleEnabled", "executionEnabled", "nodefilters",
    "nodesSelectedByDefault", "nodeFilterEditable", "notification", "notifyAvgDurationThreshold",
    "plugins", "orchestrator", "defaultTab",
}  # fmt: skip
SEQUENCE_KEYS = {"keepgoing", "strategy", "commands", "pluginConfig"}
STRATEGIES = {"node-first", "step-first", "parallel"}
STEP_KINDS = ("exec", "script", "scriptfile", "scripturl", "jobref", "type")
STEP_KEYS = set(STEP_KINDS) | {
    "description", "errorhandler", "args", "scriptInterpreter", "interpreterArgsQuoted",
    "fileExtension", "expandTokenInScriptFile", "nodeStep", "configuration", "plugins",
}  # fmt: skip
OPTION_KEYS = {
    "name", "label", "description", "value", "values", "valuesUrl", "required", "enforced",
    "regex", "multivalued", "delimiter", "multivalueAllSelected", "secure", "valueExposed",
    "storagePath", "isDate", "dateFormat", "sortIndex", "hidden", "type", "valuesListDelimiter",
}  # fmt: skip
OPTION_BOOLS = {
    "required", "enforced", "multivalued", "multivalueAllSelected", "secure", "valueExposed",
}  # fmt: skip
OPTION_NAME = re.compile(r"^[a-zA-Z_0-9.-]+$")
DISPATCH_KEYS = {"keepgoing", "excludePrecedence", "threadcount", "rankAttribute", "rankOrder"}


def _check_step(where: str, step: Any, errors: list[str]) -> None:
    if not isinstance(step, dict):
        errors.append(f"{where}: a command must be a map")
        return
    kinds = [k for k in STEP_KINDS if k in step]
    if len(kinds) != 1:
        errors.append(f"{where}: needs exactly one of {STEP_KINDS}, has {kinds}")
    errors.extend(f"{where}: unknown key {k!r}" for k in sorted(set(step) - STEP_KEYS))
    if "exec" in step and not (isinstance(step["exec"], str) and step["exec"].strip()):
        errors.append(f"{where}: exec must be a non-empty string")


def _check_option(where: str, opt: Any, errors: list[str]) -> None:
    if not isinstance(opt, dict) or not isinstance(opt.get("name"), str):
        errors.append(f"{where}: an option must be a map with a string name")
        return
    if not OPTION_NAME.match(opt["name"]):
        errors.append(f"{where}: invalid option name {opt['name']!r}")
    errors.extend(f"{where}: unknown key {k!r}" for k in sorted(set(opt) - OPTION_KEYS))
    errors.extend(
        f"{where}: {k} must be true/false"
        for k in OPTION_BOOLS & set(opt)
        if not isinstance(opt[k], bool)
    )
    url = opt.get("valuesUrl")
    if url is not None and not re.match(r"^(https?://[^/?#]|file:)", str(url)):
        # The job editor refuses a valuesUrl whose scheme is not written out.
        errors.append(f"{where}: valuesUrl must start with a literal http(s):// or file: {url!r}")
    if opt.get("enforced") and url is None and not opt.get("values"):
        errors.append(f"{where}: enforced needs values or valuesUrl")
    if "values" in opt and not (
        isinstance(opt["values"], list) and all(isinstance(v, str) for v in opt["values"])
    ):
        errors.append(f"{where}: values must be a sequence of strings")
    if "storagePath" in opt and not str(opt["storagePath"]).startswith("keys/"):
        errors.append(f"{where}: storagePath must be a Key Storage path under keys/")
    if "storagePath" in opt and not opt.get("secure"):
        errors.append(f"{where}: a Key Storage default needs secure: true")
    if opt.get("regex") is not None:
        re.compile(str(opt["regex"]))


def _check_nodefilters(where: str, nf: Any, errors: list[str]) -> None:
    if not isinstance(nf, dict) or not isinstance(nf.get("filter"), str) or not nf["filter"]:
        errors.append(f"{where}: nodefilters needs a non-empty filter string")
        return
    dispatch = nf.get("dispatch", {})
    errors.extend(
        f"{where}: unknown dispatch key {k!r}" for k in sorted(set(dispatch) - DISPATCH_KEYS)
    )
    if dispatch.get("rankOrder", "ascending") not in ("ascending", "descending"):
        errors.append(f"{where}: rankOrder must be ascending or descending")
    if "keepgoing" in dispatch and not isinstance(dispatch["keepgoing"], bool):
        errors.append(f"{where}: dispatch.keepgoing must be true/false")


def job_errors(document: Any) -> list[str]:
    """Every way ``document`` (a parsed job file) departs from the job-yaml format."""
    if not isinstance(document, list) or not document:
        return ["the document must be a non-empty sequence of job maps"]
    errors: list[str] = []
    for i, job in enumerate(document):
        where = f"job[{i}]"
        if not isinstance(job, dict):
            errors.append(f"{where}: must be a map")
            continue
        for key, kind in (("name", str), ("description", str), ("loglevel", str)):
            if not isinstance(job.get(key), kind):
                errors.append(f"{where}: {key} is required ({kind.__name__})")
        if job.get("loglevel") not in LOGLEVELS:
            errors.append(f"{where}: loglevel must be one of {sorted(LOGLEVELS)}")
        errors.extend(f"{where}: unknown key {k!r}" for k in sorted(set(job) - JOB_KEYS))
        seq = job.get("sequence")
        if not isinstance(seq, dict):
            errors.append(f"{where}: sequence is required (a map)")
        else:
            if not isinstance(seq.get("keepgoing"), bool):
                errors.append(f"{where}: sequence.keepgoing is required (true/false)")
            if seq.get("strategy") not in STRATEGIES:
                errors.append(f"{where}: sequence.strategy must be one of {sorted(STRATEGIES)}")
            errors.extend(f"{where}: unknown sequence key {k!r}" for k in set(seq) - SEQUENCE_KEYS)
            commands = seq.get("commands")
            if not isinstance(commands, list) or not commands:
                errors.append(f"{where}: sequence.commands must be a non-empty sequence")
            for j, step in enumerate(commands or []):
                _check_step(f"{where}.commands[{j}]", step, errors)
        options = job.get("options", [])
        if not isinstance(options, list):
            errors.append(f"{where}: options must be a sequence of maps")
            options = []
        for j, opt in enumerate(options):
            _check_option(f"{where}.options[{j}]", opt, errors)
        names = [o.get("name") for o in options if isinstance(o, dict)]
        if len(names) != len(set(names)):
            errors.append(f"{where}: duplicate option names {names}")
        if "nodefilters" in job:
            _check_nodefilters(where, job["nodefilters"], errors)
    return errors
