#!/usr/bin/env bash
# Shell baseline for the registry benchmark: the same Git writes one publish makes, done with
# plumbing commands, one git process per step:
#   hash-object -w  x3  the changed fragment, the regenerated descriptor, the new manifest
#   mktree          x2  fragments/ (50 entries) and the root tree
#   commit-tree     x1  the version commit (parent = previous version)
#   update-ref --stdin  ONE transaction: move the branch and create the version tag
# i.e. the same objects and refs as registry/store/versionwriter.py writes. Everything that is
# not a Git write is done with bash builtins (here-strings, no cat/date forks), and the
# clock is $EPOCHREALTIME, so the baseline is as fast as a plumbing script can be.
# usage: baseline_publish.sh REPO WORKDIR COUNT [DONE]   (WORKDIR holds docker-compose.yml,
#        consign.json and fragments/*.yml; DONE: publishes already made, to continue the
#        branch in rounds); prints one line per publish: nanoseconds
set -euo pipefail
repo=$1 work=$2 count=$3 done=${4:-0}
export GIT_DIR=$repo GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@x GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@x
branch=refs/heads/bench/baseline
parent=$(git rev-parse -q --verify "$branch" || true)
zero=0000000000000000000000000000000000000000
descriptor=$(<"$work/docker-compose.yml")
manifest_text=$(<"$work/consign.json")
# blob ids of the unchanged fragments, hashed once up front (not part of a publish)
declare -A sha
for f in "$work"/fragments/*.yml; do sha[$(basename "$f")]=$(git hash-object -w "$f"); done
for ((i = done + 1; i <= done + count; i++)); do
  start=${EPOCHREALTIME/./}
  n=$((i % 50))
  printf -v changed 'svc-%02d.yml' "$n"
  printf -v text 'svc-%02d:\n  image: busybox\n  command: httpd -f -p %d\n  environment:\n    BUILD: "%d"' \
    "$n" $((8000 + n)) "$i"
  frag=$(git hash-object -w --stdin <<<"$text")
  # the regenerated descriptor and manifest differ in every version (here: the build number)
  desc=$(git hash-object -w --stdin <<<"$descriptor
# build $i")
  manifest=$(git hash-object -w --stdin <<<"$manifest_text
$i")
  entries=""
  for name in "${!sha[@]}"; do
    if [[ $name == "$changed" ]]; then h=$frag; else h=${sha[$name]}; fi
    entries+="100644 blob $h	$name"$'\n'
  done
  ftree=$(git mktree <<<"${entries%$'\n'}")
  root=$(git mktree <<<"100644 blob $manifest	consign.json
100644 blob $desc	docker-compose.yml
040000 tree $ftree	fragments")
  if [[ -n $parent ]]; then
    commit=$(git commit-tree "$root" -p "$parent" <<<"baseline v$i")
    old=$parent
  else
    commit=$(git commit-tree "$root" <<<"baseline v$i")
    old=$zero
  fi
  git update-ref --stdin >/dev/null <<<"start
update $branch $commit $old
create refs/tags/bench/baseline/$i $commit
prepare
commit"
  sha[$changed]=$frag
  parent=$commit
  end=${EPOCHREALTIME/./}
  echo $(((end - start) * 1000))
done
