"""``consign bisect``: the first bad version of a range, found by deploying and judging
versions in one environment, and the builds it brought in (docs/deployer.md, "Bisect")."""
