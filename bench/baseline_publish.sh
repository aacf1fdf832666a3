#!/usr/bin/env bash
# Shell baseline for the registry benchmark: the same Git writes a publish makes, done with
# plumbing commands, one process per step: hash-object (descriptor, fragment, manifest),
# mktree (fragments/, root), commit-tree, and one `update-ref --stdin` transaction that
# moves the branch and creates the tag.
# usage: baseline_publish.sh REPO WORKDIR COUNT   (WORKDIR holds docker-compose.yml,
#        consign.json and fragments/*.yml); prints one line per publish: nanoseconds
set -euo pipefail
repo=$1 work=$2 count=$3
export GIT_DIR=$repo GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@x GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@x
branch=refs/heads/bench/baseline
parent=""
zero=0000000000000000000000000000000000000000
# blob ids of the unchanged fragments, hashed once up front (not part of a publish)
declare -A sha
for f in "$work"/fragments/*.yml; do sha[$(basename "$f")]=$(git hash-object -w "$f"); done
for ((i = 1; i <= count; i++)); do
  start=$(date +%s%N)
  # the changed fragment and the regenerated descriptor + manifest of this publish
  frag=$(printf 'svc-%02d:\n  image: busybox\n  environment:\n    BUILD: "%d"\n' $((i % 50)) "$i" | git hash-object -w --stdin)
  desc=$(git hash-object -w "$work/docker-compose.yml")
  manifest=$( { cat "$work/consign.json"; echo "$i"; } | git hash-object -w --stdin)
  changed=$(printf 'svc-%02d.yml' $((i % 50)))
  ftree=$( { for n in "${!sha[@]}"; do
               if [[ $n == "$changed" ]]; then h=$frag; else h=${sha[$n]}; fi
               printf '100644 blob %s\t%s\n' "$h" "$n"
             done; } | git mktree)
  root=$(printf '100644 blob %s\tconsign.json\n100644 blob %s\tdocker-compose.yml\n040000 tree %s\tfragments\n' \
           "$manifest" "$desc" "$ftree" | git mktree)
  if [[ -n $parent ]]; then
    commit=$(echo "baseline v$i" | git commit-tree "$root" -p "$parent")
    old=$parent
  else
    commit=$(echo "baseline v$i" | git commit-tree "$root")
    old=$zero
  fi
  printf 'start\nupdate %s %s %s\ncreate refs/tags/bench/baseline/%d %s\nprepare\ncommit\n' \
    "$branch" "$commit" "$old" "$i" "$commit" | git update-ref --stdin
  parent=$commit
  end=$(date +%s%N)
  echo $((end - start))
done
