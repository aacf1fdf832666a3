"""`consign deploy --plan`: what a deploy would change on the target, changing nothing.

model.py holds the typed inputs and the plan; compare.py the pure comparison (unit-tested
on recorded inspect data); reading.py reads the engine and Compose; dryrun.py reads
Compose's own ``up --dry-run`` as a cross-check; stackplan.py does the same for a Swarm
stack; versions.py asks the registry what changed between the versions; text.py says it;
flow.py puts them together for deployer/cli.py.
"""
