"""The gate through a real `consign serve` (gunicorn) on a real bare repo: promotion,
policy, approvals and rejections, freeze/thaw. Every test's repo passes `git fsck --strict`
(the `repo` fixture)."""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from consign.process import run
from registry.http.auth import default_identity
from tests.registry.conftest import b64, objects, refs
from tests.serving import ServedRegistry

APP = "TLO GE"
A = quote(APP)
API = f"/api/applications/{A}/releases"

WEB = "services:\n  web:\n    image: busybox\n    command: ['sleep', '1']\n"
DB = "version: '2'\ndb:\n  image: busybox\n  volumes_from: [data]\n"  # v1, with a warning


def put(url: str, fragment: str, releases: list[str], **extra: Any) -> requests.Response:
    body = {"fragment": b64(fragment), "applications": [APP], "releases": releases, **extra}
    return requests.put(f"{url}/fragment", json=body, timeout=30)


def post(url: str, path: str, body: Any, **kw: Any) -> requests.Response:
    return requests.post(f"{url}{path}", json=body, timeout=30, **kw)


def git(repo: Path, *args: str) -> str:
    return run(["git", "--git-dir", str(repo), *args]).stdout


def milestone(url: str, versions: int = 3) -> None:
    """Milestone with `versions` versions: web, db, then new builds of web."""
    assert put(url, WEB, ["Milestone"], component="web", build={"n": 1}).status_code == 201
    assert put(url, DB, ["Milestone"], component="db", build={"n": 2}).status_code == 201
    for n in range(3, versions + 1):
        answer = put(url, WEB, ["Milestone"], component="web", build={"n": n})
        assert answer.status_code == 201


def promote(url: str, to: str, source: str, version: int, **extra: Any) -> requests.Response:
    body = {"from_release": source, "version": version, **extra}
    return post(url, f"{API}/{to}/promotions", body)


def test_promote_milestone_3_to_qa(served: ServedRegistry, repo: Path) -> None:
    url = served.url
    milestone(url)
    answer = promote(url, "QA", "Milestone", 3, by="alice", create=True)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["release"], body["version"]) == ("QA", 1)
    source = requests.get(f"{url}{API}/Milestone/versions/3", timeout=30).json()
    assert body["promoted_from"] == {
        "application": APP,
        "release": "Milestone",
        "version": 3,
        "commit": source["commit"],
    }
    assert body["promoted_by"] == {"by": "alice", "identity": None}
    assert answer.headers["Location"].endswith(f"/descriptor/application/{A}/QA/1")
    # byte-identical descriptor and fragments
    got = requests.get(f"{url}/descriptor/application/{A}/QA/1", timeout=30).content
    assert got == requests.get(f"{url}/descriptor/application/{A}/Milestone/3", timeout=30).content
    for component in ("web", "db"):
        path = f"/descriptor/application/{A}/{{}}/fragments/{component}"
        qa = requests.get(url + path.format("QA/1"), timeout=30)
        ms = requests.get(url + path.format("Milestone/3"), timeout=30)
        assert qa.status_code == 200 and qa.content == ms.content
    assert body["components"] == source["components"]
    assert body["warnings"] == source["warnings"] and body["warnings"]
    tree = git(repo, "ls-tree", "-r", f"refs/tags/{quote(APP, safe='')}/QA/1")
    src = git(repo, "ls-tree", "-r", f"refs/tags/{quote(APP, safe='')}/Milestone/3")
    assert [line for line in tree.splitlines() if "consign.json" not in line] == [
        line for line in src.splitlines() if "consign.json" not in line
    ]
    # the commit and git log of the QA branch say where it came from
    log = git(repo, "log", "--format=%B", f"refs/heads/{quote(APP, safe='')}/QA")
    trailer = [line for line in log.splitlines() if line.startswith("Consign-Promoted-From: ")]
    assert len(trailer) == 1
    assert json.loads(trailer[0].split(": ", 1)[1])["commit"] == source["commit"]
    assert "promoted from TLO GE/Milestone v3" in log and "Consign-Promoted-By: alice" in log
    # an idempotent retry: 200, the same version, nothing written
    before = refs(repo), objects(repo)
    again = promote(url, "QA", "Milestone", 3)
    assert again.status_code == 200 and again.json()["version"] == 1
    assert (refs(repo), objects(repo)) == before
    # the discovery API and Rundeck show it
    listed = requests.get(f"{url}{API}", timeout=30).json()["releases"]
    assert listed == ["Milestone", "QA"]
    options = requests.get(f"{url}/rundeck/options/versions?application={A}&release=QA", timeout=30)
    assert "promoted from Milestone #3" in options.json()[0]["name"]
    # publishing to QA works as before: the promoted components are its components
    later = put(url, WEB.replace("'1'", "'2'"), ["QA"], build={"n": 9})
    assert later.status_code == 201, later.text
    v2 = requests.get(f"{url}{API}/QA/versions/2", timeout=30).json()
    assert v2["component"] == "web" and v2["promoted_from"] is None
    assert [c["name"] for c in v2["components"]] == ["web", "db"]
    # promoting a newer source again is a new version (not a retry)
    assert put(url, WEB, ["Milestone"], component="web", build={"n": 4}).status_code == 201
    assert promote(url, "QA", "Milestone", 4).status_code == 201
    # ... and promoting the same source once more after other versions is a new one, too
    assert promote(url, "QA", "Milestone", 3).json()["version"] == 4


def test_promotion_into_a_missing_release_is_refused_unless_asked(
    served: ServedRegistry, repo: Path
) -> None:
    """No side door: a misspelt target names the releases closest in spelling and writes
    nothing; `"create": true` makes a new release on purpose."""
    url = served.url
    milestone(url)
    before = refs(repo)
    missing = promote(url, "QA", "Milestone", 1)
    assert missing.status_code == 409
    body = missing.json()
    assert body["error"] == "release_missing" and body["closest"] == []
    assert "has no release 'QA'" in body["message"] and '"create": true' in body["message"]
    assert refs(repo) == before  # nothing written
    assert promote(url, "QA", "Milestone", 1, create=True).status_code == 201
    policy = {"approvals": 1, "by": "rm"}
    assert requests.put(f"{url}{API}/QA/policy", json=policy, timeout=30).ok
    for spelt in ("Qa", "qa", "qA"):
        refused = promote(url, spelt, "Milestone", 2)
        assert refused.status_code == 409, refused.text
        assert refused.json()["closest"][0] == "QA"
        assert "did you mean 'QA'" in refused.json()["message"]
    near = promote(url, "Milestones", "Milestone", 2)
    assert near.json()["closest"] == ["Milestone"]
    # an unknown application: the applications closest in spelling
    other = post(url, "/api/applications/TLO%20ge/releases/QA/promotions",
                 {"from_application": APP, "from_release": "Milestone", "version": 1})  # fmt: skip
    assert other.status_code == 409
    assert other.json()["closest_applications"] == [APP]
    assert "/Qa" not in str(refs(repo)) and "ge/" not in str(refs(repo))
    # a release prepared with a policy before its first version is not missing: its gate judges
    prepared = {"approvals": 0, "from_releases": ["Milestone"], "by": "rm"}
    assert requests.put(f"{url}{API}/Production/policy", json=prepared, timeout=30).ok
    assert promote(url, "Production", "Milestone", 2).status_code == 201
    # create is a permission, not a demand: an existing release takes it
    assert promote(url, "Production", "Milestone", 3, create=True).status_code == 201
    bad = promote(url, "Next", "Milestone", 3, create="yes")
    assert bad.status_code == 400 and bad.json()["field"] == "create"
    assert "Qa" not in requests.get(f"{url}/api/applications/{A}/releases", timeout=30).text


def test_promote_across_applications(served: ServedRegistry) -> None:
    milestone(served.url, versions=2)
    body = {"from_application": APP, "from_release": "Milestone", "version": 2, "create": True}
    answer = post(served.url, "/api/applications/TLO%20EE/releases/Milestone/promotions", body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["promoted_from"]["application"] == APP


def test_promotion_only_policy_refuses_ci_publishes(served: ServedRegistry, repo: Path) -> None:
    url = served.url
    milestone(url)
    policy = {"promotion_only": True, "from_releases": ["Milestone"], "by": "rm"}
    answer = requests.put(f"{url}{API}/QA/policy", json=policy, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["policy"]["promotion_only"] is True
    assert answer.json()["policy"]["set_by"] == "rm"
    before = refs(repo), objects(repo)
    refused = put(url, WEB, ["Milestone", "QA"])  # one target refused: nothing anywhere
    assert refused.status_code == 409
    assert refused.json()["error"] == "refused"
    assert "only by promotion" in refused.json()["message"]
    assert "CI publishes are refused" in refused.json()["message"]
    assert (refs(repo), objects(repo)) == before
    assert promote(url, "QA", "Milestone", 3).status_code == 201
    assert put(url, WEB, ["QA"], build={"n": 99}).status_code == 409  # still refused after
    # from_releases: a promotion from elsewhere is refused, naming the rule
    assert put(url, WEB, ["Sprint"]).status_code == 201
    other = promote(url, "QA", "Sprint", 1)
    assert other.status_code == 409
    assert other.json()["unmet"] == ["promotions come only from Milestone, not from Sprint"]
    got = requests.get(f"{url}{API}/QA/policy", timeout=30).json()["policy"]
    assert got["from_releases"] == ["Milestone"]


def test_approvals_policy(served: ServedRegistry, repo: Path) -> None:
    url = served.url
    milestone(url)
    requests.put(f"{url}{API}/QA/policy", json={"approvals": 2}, timeout=30)
    refused = promote(url, "QA", "Milestone", 3)
    assert refused.status_code == 409
    assert refused.json()["unmet"] == ["version 3 has 0 approvals; the policy needs 2"]
    approvals = f"{API}/Milestone/versions/3/approvals"
    first = post(url, approvals, {"by": "qa-ann", "comment": "smoke ok"})
    assert first.status_code == 201, first.text
    assert first.json()["kind"] == "approval" and first.json()["comment"] == "smoke ok"
    # the same identity approving twice counts once (open role: the `by` is who)
    assert post(url, approvals, {"by": "qa-ann"}).status_code == 201
    assert "has 1 approval;" in promote(url, "QA", "Milestone", 3).json()["message"]
    assert post(url, approvals, {"by": "qa-bob"}).status_code == 201
    assert promote(url, "QA", "Milestone", 3).status_code == 201
    details = requests.get(f"{url}{API}/Milestone/versions/3", timeout=30).json()
    assert [a["by"] for a in details["approvals"]] == ["qa-ann", "qa-bob"]
    assert details["rejected"] is None


def _deploy_record(version: int, outcome: str, verdict: str, finished: str) -> dict[str, Any]:
    """A deployer's report of Milestone #version in qa-1 (the ledger's record format)."""
    return {
        "id": str(uuid.uuid4()),
        "kind": "deploy",
        "application": APP,
        "release": "Milestone",
        "version": version,
        "outcome": outcome,
        "started": "2026-12-01T14:00:00Z",
        "finished": finished,
        "by": "rundeck",
        "engine": {"name": "qa-host-1", "host": "unix:///var/run/docker.sock"},
        "source": "registry",
        "services": [
            {"service": "web", "verdict": verdict, "detail": "", "containers": ["0123456789ab"],
             "image": "sha256:" + "1" * 64, "component": "web", "build": {"n": version}},
        ],
    }  # fmt: skip


def test_healthy_in_is_judged_by_the_ledger(served: ServedRegistry) -> None:
    """Refused (409, the reason named) until a healthy deploy of that very version to qa-1
    is reported to the ledger; accepted after."""
    url = served.url
    milestone(url, versions=1)
    answer = requests.put(f"{url}{API}/QA/policy", json={"healthy_in": ["qa-1"]}, timeout=30)
    assert answer.status_code == 200, answer.text
    refused = promote(url, "QA", "Milestone", 1)
    assert refused.status_code == 409
    assert refused.json()["unmet"] == ["version 1 was never deployed to qa-1"]
    reports = "/api/environments/qa-1/deployments"
    failed = _deploy_record(1, "failed", "crash-looping", "2026-12-01T14:02:00Z")
    assert post(url, reports, failed).status_code == 201
    refused = promote(url, "QA", "Milestone", 1)
    assert refused.status_code == 409
    reason = " ".join(refused.json()["unmet"])
    assert "failed at 2026-12-01 14:02 UTC" in reason and "web crash-looping" in reason, reason
    healthy = _deploy_record(1, "ok", "healthy", "2026-12-01T14:30:00Z")
    assert post(url, reports, healthy).status_code == 201
    details = requests.get(f"{url}{API}/Milestone/versions/1", timeout=30).json()
    assert details["verified"] == ["qa-1"]
    assert promote(url, "QA", "Milestone", 1).status_code == 201


def test_rejected_version(served: ServedRegistry, repo: Path) -> None:
    url = served.url
    milestone(url)
    rejection = {"by": "qa-ann", "reason": "BUG-1234: login loops"}
    answer = post(url, f"{API}/Milestone/versions/2/rejections", rejection)
    assert answer.status_code == 201, answer.text
    assert answer.json()["standing"]["rejected"]["reason"] == "BUG-1234: login loops"
    details = requests.get(f"{url}{API}/Milestone/versions/2", timeout=30).json()
    assert details["rejected"]["by"] == "qa-ann"
    assert details["rejected"]["reason"] == "BUG-1234: login loops"
    listed = requests.get(f"{url}{API}/Milestone/versions", timeout=30).json()["versions"]
    assert [v["rejected"] is not None for v in listed] == [False, True, False]
    options = requests.get(
        f"{url}/rundeck/options/versions?application={A}&release=Milestone", timeout=30
    ).json()
    assert options[1]["name"].startswith("REJECTED (BUG-1234: login loops) #2 · ")
    assert options[1]["value"] == "2"
    assert not options[0]["name"].startswith("REJECTED")
    before = refs(repo), objects(repo)
    refused = promote(url, "QA", "Milestone", 2, create=True)
    assert refused.status_code == 409
    assert "was rejected by qa-ann" in refused.json()["message"]
    assert "BUG-1234" in refused.json()["message"]
    assert (refs(repo), objects(repo)) == before
    # a later approval is a new record; the rejection stays in the history
    assert post(url, f"{API}/Milestone/versions/2/approvals", {"by": "lead"}).status_code == 201
    assert promote(url, "QA", "Milestone", 2, create=True).status_code == 201
    gate_ref = f"refs/consign/gate/{quote(APP, safe='')}/Milestone"
    log = git(repo, "log", "--format=%s", gate_ref).splitlines()
    assert log == [
        "TLO GE/Milestone v2: approved by lead",
        "TLO GE/Milestone v2: rejected by qa-ann: BUG-1234: login loops",
    ]
    old = git(repo, "show", f"{gate_ref}~1:decisions.jsonl").encode()
    new = git(repo, "show", f"{gate_ref}:decisions.jsonl").encode()
    assert new.startswith(old) and new.count(b"\n") == 2


def test_freeze_and_thaw(served: ServedRegistry, repo: Path) -> None:
    url = served.url
    milestone(url, versions=1)
    freeze = {"reason": "release 3.1 sign-off", "by": "rm-carol", "until": "2099-01-01T00:00:00Z"}
    answer = requests.put(f"{url}{API}/Milestone/freeze", json=freeze, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["frozen"]["until"] == "2099-01-01T00:00:00Z"
    releases = requests.get(f"{url}{API}", timeout=30).json()
    assert releases["frozen"]["Milestone"]["reason"] == "release 3.1 sign-off"
    labels = requests.get(f"{url}/rundeck/options/releases?application={A}", timeout=30).json()
    assert labels == [{"name": "Milestone (FROZEN: release 3.1 sign-off)", "value": "Milestone"}]
    before = refs(repo), objects(repo)
    refused = put(url, WEB, ["Milestone"], build={"n": 2})
    assert refused.status_code == 423
    body = refused.json()
    assert body["error"] == "locked"
    assert (body["reason"], body["by"], body["until"]) == (
        "release 3.1 sign-off",
        "rm-carol",
        "2099-01-01T00:00:00Z",
    )
    assert "release 3.1 sign-off" in body["message"] and "rm-carol" in body["message"]
    # concurrent publishes during the freeze: none gets through
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda n: put(url, WEB, ["Milestone"], build={"n": 100 + n}), range(16))
        )
    assert {a.status_code for a in answers} == {423}
    assert put(url, WEB, ["Sprint"]).status_code == 201  # other releases go on
    assert put(url, WEB, ["Milestone", "Sprint"], build={"n": 7}).status_code == 423
    promoted = promote(url, "Milestone", "Sprint", 1)
    assert promoted.status_code == 423
    after = refs(repo)
    assert {k: v for k, v in after.items() if "Sprint" not in k} == before[0]
    # reads and deploys go on
    assert requests.get(f"{url}/descriptor/application/{A}/Milestone/1", timeout=30).ok
    thawed = requests.delete(f"{url}{API}/Milestone/freeze?by=rm-carol", timeout=30)
    assert thawed.status_code == 200
    assert thawed.json()["frozen"] is None and thawed.json()["thawed"]["by"] == "rm-carol"
    assert requests.get(f"{url}{API}", timeout=30).json()["frozen"] == {}
    assert put(url, WEB, ["Milestone"], build={"n": 2}).status_code == 201
    # thawing again writes nothing
    before = refs(repo), objects(repo)
    again = requests.delete(f"{url}{API}/Milestone/freeze", timeout=30)
    assert again.status_code == 200 and again.json()["thawed"] is None
    assert (refs(repo), objects(repo)) == before


BAD = [
    ("no such version", "promote", {"from_release": "Milestone", "version": 9}, 404),
    ("no such release", "promote", {"from_release": "Nope", "version": 1}, 404),
    ("into itself", "promote-self", {"from_release": "Milestone", "version": 1}, 400),
    ("version not a number", "promote", {"from_release": "Milestone", "version": "1"}, 400),
    ("version zero", "promote", {"from_release": "Milestone", "version": 0}, 400),
    ("missing from_release", "promote", {"version": 1}, 400),
    ("bad release name", "promote", {"from_release": "a/b", "version": 1}, 400),
    ("unknown field", "promote", {"from_release": "Milestone", "version": 1, "x": 1}, 400),
    ("policy approvals", "policy", {"approvals": -1}, 400),
    ("policy promotion_only", "policy", {"promotion_only": "yes"}, 400),
    ("policy self", "policy", {"from_releases": ["QA"]}, 400),
    ("policy env name", "policy", {"healthy_in": ["qa/1"]}, 400),
    ("policy unknown field", "policy", {"healthy": ["qa-1"]}, 400),
    ("freeze no reason", "freeze", {"by": "me"}, 400),
    ("freeze blank reason", "freeze", {"by": "me", "reason": "  "}, 400),
    ("freeze until past", "freeze", {"by": "me", "reason": "r", "until": "2001-01-01T00:00Z"}, 400),
    ("freeze until naive", "freeze", {"by": "me", "reason": "r", "until": "2099-01-01T00:00"}, 400),
    ("approve no by", "approve", {"comment": "ok"}, 400),
    ("approve huge comment", "approve", {"by": "qa", "comment": "x" * 4097}, 400),
    ("approve by two lines", "approve", {"by": "q\na"}, 400),
    ("reject no reason", "reject", {"by": "qa"}, 400),
    ("reject huge reason", "reject", {"by": "qa", "reason": "é" * 2049}, 400),
    ("approve unknown version", "approve-9", {"by": "qa"}, 404),
]


def test_bad_input_is_4xx_json_and_writes_nothing(served: ServedRegistry, repo: Path) -> None:
    url = served.url
    milestone(url, versions=1)
    paths = {
        "promote": ("post", f"{API}/QA/promotions"),
        "promote-self": ("post", f"{API}/Milestone/promotions"),
        "policy": ("put", f"{API}/QA/policy"),
        "freeze": ("put", f"{API}/QA/freeze"),
        "approve": ("post", f"{API}/Milestone/versions/1/approvals"),
        "approve-9": ("post", f"{API}/Milestone/versions/9/approvals"),
        "reject": ("post", f"{API}/Milestone/versions/1/rejections"),
    }
    before = refs(repo), objects(repo)
    for why, kind, body, status in BAD:
        method, path = paths[kind]
        answer = requests.request(method, url + path, json=body, timeout=30)
        assert answer.status_code == status, (why, answer.text)
        assert set(answer.json()) >= {"error", "message"}, why
    for method, path in set(paths.values()):
        not_json = requests.request(method, url + path, data=b"{", timeout=30)
        assert not_json.status_code == 400
    assert (refs(repo), objects(repo)) == before
    # an environment nobody has deployed to is allowed (with the ledger's warning)
    allowed = requests.put(f"{url}{API}/QA/policy", json={"healthy_in": ["never-seen"]}, timeout=30)
    assert allowed.status_code == 200 and allowed.json()["warnings"]


@pytest.fixture
def guarded(repo: Path, tmp_path: Path) -> Any:
    approve_file = tmp_path / "approvers"
    approve_file.write_text("# QA\nqa-ann:qa-token\nboth-token\n")
    env = {
        "CONSIGN_PUBLISH_TOKENS": "ci:pub-token",
        "CONSIGN_REPORT_TOKENS": "deployer:rep-token",
        "CONSIGN_APPROVE_TOKENS_FILE": str(approve_file),
        "CONSIGN_RELEASE_TOKENS": "rm-carol:rel-token, both-token",
        "CONSIGN_READ_TOKENS": "reader:read-token",
    }
    with ServedRegistry(repo, tmp_path / "serve.log", env=env, workers=2).start() as server:
        yield server


TOKENS = ["pub-token", "rep-token", "qa-token", "rel-token", "both-token", "read-token"]
ALLOWED = {
    "publish": {"pub-token"},
    "approve": {"qa-token", "both-token"},
    "policy": {"rel-token", "both-token"},
    "promote": {"rel-token", "both-token"},
    "reject": {"qa-token", "both-token"},
    "freeze": {"rel-token", "both-token"},
    "thaw": {"rel-token", "both-token"},
    "read": set(TOKENS),
}


def test_role_matrix(guarded: ServedRegistry, repo: Path) -> None:
    """Each role's token does its own actions and not the others' (401 without a token,
    403 with another role's), and decisions record the token's identity."""
    url = guarded.url
    body = {"fragment": b64(WEB), "applications": [APP], "releases": ["Milestone"]}
    actions = {
        "publish": ("put", "/fragment", body),
        "approve": ("post", f"{API}/Milestone/versions/1/approvals", {"by": "someone"}),
        "policy": ("put", f"{API}/QA/policy", {"approvals": 0}),
        "promote": (
            "post",
            f"{API}/QA/promotions",
            {"from_release": "Milestone", "version": 1, "create": True},
        ),
        "reject": ("post", f"{API}/Milestone/versions/1/rejections", {"by": "x", "reason": "B-1"}),
        "freeze": ("put", f"{API}/QA/freeze", {"by": "x", "reason": "go-live"}),
        "thaw": ("delete", f"{API}/QA/freeze", None),
        "read": ("get", f"{API}/Milestone/versions/1", None),
    }
    for action, (method, path, payload) in actions.items():
        before = refs(repo), objects(repo)
        assert requests.request(method, url + path, json=payload, timeout=30).status_code == 401
        for token in ["nope", *sorted(set(TOKENS) - ALLOWED[action])]:
            headers = {"Authorization": f"Bearer {token}"}
            answer = requests.request(method, url + path, json=payload, headers=headers, timeout=30)
            assert answer.status_code == 403, (action, token, answer.text)
            assert answer.json()["error"] == "forbidden"
        assert (refs(repo), objects(repo)) == before, action
        for token in sorted(ALLOWED[action]):
            headers = {"Authorization": f"Bearer {token}"}
            answer = requests.request(method, url + path, json=payload, headers=headers, timeout=30)
            assert answer.status_code < 300, (action, token, answer.text)
    reader = {"Authorization": "Bearer read-token"}
    versions = requests.get(f"{url}{API}/Milestone/versions/1", headers=reader, timeout=30).json()
    # the identities, not the `by` the client sent: qa-ann by name, both-token by its hash
    assert versions["approvals"] == []  # rejected after approving
    assert versions["rejected"]["identity"] == "qa-ann"
    assert versions["rejected"]["by"] == "x"
    log = git(repo, "log", "--format=%s%n%b", f"refs/consign/gate/{quote(APP, safe='')}/Milestone")
    assert "approved by qa-ann" in log and "Consign-Identity: qa-ann" in log
    assert f"rejected by {default_identity('both-token')}: B-1" in log
    assert "someone" not in log
    qa = git(repo, "log", "--format=%s", f"refs/consign/gate/{quote(APP, safe='')}/QA")
    both = default_identity("both-token")
    assert qa.splitlines() == [  # the second thaw found nothing frozen and wrote nothing
        f"TLO GE/QA: thawed by {both}",
        "TLO GE/QA: frozen by rm-carol: go-live",
        f"TLO GE/QA: frozen by {both}: go-live",
        "TLO GE/QA: policy set by rm-carol: no conditions",
        f"TLO GE/QA: policy set by {both}: no conditions",
    ]
    promoted = requests.get(
        f"{url}{API}/QA/versions/1", headers={"Authorization": "Bearer rel-token"}, timeout=30
    ).json()
    assert promoted["promoted_by"] == {"by": None, "identity": both}  # rel-token: a retry


def test_a_release_prepared_with_a_policy_or_freeze_exists_everywhere(
    served: ServedRegistry,
) -> None:
    """19.6: QA and Production exist only as a policy and a freeze (README's setup, before
    their first version): a misspelt promotion is steered to them, the releases list names
    them apart, and the UI's promote form and its confirmation page offer them."""
    url = served.url
    milestone(url, versions=1)
    policy = {"approvals": 1, "healthy_in": ["vm-trial"], "by": "rm"}
    assert requests.put(f"{url}{API}/QA/policy", json=policy, timeout=30).ok
    freeze = {"reason": "go-live", "by": "rm"}
    assert requests.put(f"{url}{API}/Production/freeze", json=freeze, timeout=30).ok
    # a policy removed again leaves nothing prepared
    assert requests.put(f"{url}{API}/Gone/policy", json=policy, timeout=30).ok
    assert requests.put(f"{url}{API}/Gone/policy", json={"by": "rm"}, timeout=30).ok
    refused = promote(url, "Qa", "Milestone", 1)
    assert refused.status_code == 409 and refused.json()["error"] == "release_missing"
    assert refused.json()["closest"][0] == "QA" and "did you mean 'QA'" in refused.text
    assert promote(url, "production", "Milestone", 1).json()["closest"][0] == "Production"
    assert "Gone" not in promote(url, "Gon", "Milestone", 1).json()["closest"]
    listed = requests.get(f"{url}{API}", timeout=30).json()
    assert listed["releases"] == ["Milestone"]  # the releases with versions to read
    assert listed["prepared"] == ["Production", "QA"]
    assert listed["frozen"]["Production"]["reason"] == "go-live"
    # Rundeck: the promote job's target offers them, the source and deploy lists do not
    options = f"{url}/rundeck/options/releases?application={A}"
    target = requests.get(f"{options}&target=promotion", timeout=30).json()
    assert target == [
        {"name": "Milestone", "value": "Milestone"},
        {"name": "Production (FROZEN: go-live) (no version yet)", "value": "Production"},
        {"name": "QA (no version yet)", "value": "QA"},
    ]
    assert requests.get(options, timeout=30).json() == [target[0]]
    bad = requests.get(f"{options}&target=deploy", timeout=30)
    assert bad.status_code == 400 and bad.json()["field"] == "target"
    # an application whose only release is prepared is listed, not unknown
    other = f"/api/applications/{quote('TLO EE')}/releases"
    assert requests.put(f"{url}{other}/QA/policy", json=policy, timeout=30).ok
    assert requests.get(f"{url}{other}", timeout=30).json()["prepared"] == ["QA"]
    # the UI: the promote form's choices, then the confirmation page for a misspelt name
    page_url = f"{url}/ui/applications/{A}/releases/Milestone/versions/1"
    browser = requests.Session()
    page = browser.get(page_url, timeout=30).text
    choices = re.search(r'<datalist id="release-choices">(.*?)</datalist>', page)
    assert choices and re.findall(r'value="([^"]+)"', choices.group(1))[:2] == ["Production", "QA"]
    assert "Existing releases: " in page and ">QA</span>" in page
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert token
    form = {"csrf_token": token.group(1), "to_release": "Qa", "by": "rm"}
    asked = browser.post(f"{page_url}/promote", data=form, timeout=30)
    assert asked.status_code == 200 and "Did you mean" in asked.text
    assert "Promote into TLO GE / QA" in asked.text
    assert promote(url, "Qa", "Milestone", 1).status_code == 409  # nothing was made
