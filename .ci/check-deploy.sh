#!/usr/bin/env bash
# Checks deploy/ without a cluster or a container daemon: every Kubernetes manifest a
# kustomization lists validates (strictly: no unknown field) against the API schemas of the
# oldest and newest Kubernetes versions we support, with kubernetes-validate (which ships the
# schemas; from PyPI); the Dockerfile passes dockerfile-utils' linter (from npm). What this
# cannot exercise — building the image, pods starting, probes, the autoscaler, SIGTERM drains —
# is listed in docs/deploy.md.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${TACT_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tact-ci}/kubernetes-validate
if [[ ! -x $venv/bin/kubernetes-validate ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q kubernetes-validate==1.37.0
fi

for kustomization in deploy/k8s/*/kustomization.yaml; do
    dir=$(dirname "$kustomization")
    mapfile -t resources < <("$venv/bin/python" - "$kustomization" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for resource in doc.get("resources", []):
    print(resource)
PY
)
    [[ ${#resources[@]} -gt 0 ]] || { echo "$kustomization lists no resources" >&2; exit 1; }
    files=()
    for r in "${resources[@]}"; do
        [[ -f $dir/$r ]] || { echo "$kustomization: $r does not exist" >&2; exit 1; }
        files+=("$dir/$r")
    done
    for version in 1.30.0 1.35.0; do
        "$venv/bin/kubernetes-validate" --strict --quiet -k "$version" "${files[@]}"
    done
    echo "deploy: ${#files[@]} manifests of $dir valid for Kubernetes 1.30 and 1.35" >&2
done

npx --yes dockerfile-utils@0.16.3 lint deploy/Dockerfile
echo "deploy: deploy/Dockerfile passes dockerfile-utils lint" >&2
