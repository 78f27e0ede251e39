#!/usr/bin/env bash
# Checks the licence of every third-party Go module linked into the binaries
# (every main package under cmd/, built for each of LICENSES_PLATFORMS: the
# Windows plugin links Windows-only modules) and writes THIRD_PARTY_NOTICES,
# the notices a release ships next to LICENSE: for each module its version,
# licence (SPDX id) and full licence text, plus where the source of an
# MPL-2.0 module is. Licences are identified by go-licenses
# (github.com/google/go-licenses, installed by the Makefile).
#
# Fails, naming the module and the licence, on any licence outside the
# allow-list below, on a licence that cannot be identified, and on BUSL-1.1
# (github.com/hashicorp/nomad from v1.7.0 on, or any licence file that says
# "Business Source License") whatever the classifier says. Cases go-licenses
# gets wrong are settled in the override table below, never silently. Before
# checking, a self-test proves on fixtures that the check rejects BUSL-1.1
# and unknown licences and accepts a good one.
#
#   hack/licenses.sh              self-test, check, regenerate THIRD_PARTY_NOTICES
#   hack/licenses.sh --check      self-test, check, and fail when THIRD_PARTY_NOTICES
#                                 differs from what would be generated (`make lint`)
#   hack/licenses.sh --self-test  the self-test alone (no go-licenses needed)
#
# The output is deterministic: sorted, no dates, no machine paths. go-licenses
# runs offline (GOPROXY=off, and a dead HTTP proxy for the licence URLs it
# looks up and this script does not use) after `go list` has fetched the
# modules.
#
# Environment:
#   GO                   go command (default: go)
#   GO_LICENSES          go-licenses binary (default: $(go env GOPATH)/bin/go-licenses)
#   GO_LICENSES_VERSION  the version it must be (default: v1.6.0; the Makefile passes its own)
#   LICENSES_PLATFORMS   GOOS/GOARCH pairs (default: "linux/amd64 windows/amd64 windows/arm64
#                        linux/arm64 darwin/amd64 darwin/arm64", the targets of hack/dist.sh:
#                        the plugin's and the nomad-iis command's)
#   LICENSES_PKGS        packages to check (default: every main package under ./cmd)
#   NOTICES_FILE         notices file (default: THIRD_PARTY_NOTICES at the repository root)
set -euo pipefail

# SPDX ids a linked module may be under: OSI-approved licences only
# (https://opensource.org/licenses), and only those actually needed. BUSL-1.1,
# SSPL and the like are not open source and must never be added.
allowed_licences=(Apache-2.0 BSD-2-Clause BSD-3-Clause ISC MIT MPL-2.0)

# Licences settled by hand: "module|version|SPDX expression|why". The version
# is exact, so a new version fails the check until someone has read its
# licence again. The allow-list and the BUSL-1.1 rules still apply. Every
# licence file and NOTICE at the module root goes into the notices.
overrides=(
  "github.com/bgentry/speakeasy|v0.1.0|MIT AND Apache-2.0|LICENSE (MIT) covers the non-Windows code and says the Windows code keeps its own Apache-2.0 licence, LICENSE_WINDOWS, which go-licenses does not read"
  "go.yaml.in/yaml/v3|v3.0.5|MIT AND Apache-2.0|LICENSE holds two licences (MIT for the files ported from libyaml, Apache-2.0 for the rest, with NOTICE); the classifier reports only the first"
)

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
GO=${GO:-go}
GO_LICENSES_VERSION=${GO_LICENSES_VERSION:-v1.6.0}
LICENSES_PLATFORMS=${LICENSES_PLATFORMS:-linux/amd64 windows/amd64 windows/arm64 linux/arm64 darwin/amd64 darwin/arm64}
NOTICES_FILE=${NOTICES_FILE:-THIRD_PARTY_NOTICES}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() { echo "licenses: $*" >&2; }

# is_allowed ID: whether ID is on the allow-list.
is_allowed() {
  local a
  for a in "${allowed_licences[@]}"; do [[ $1 == "$a" ]] && return 0; done
  return 1
}

# nomad_busl VERSION: whether VERSION of github.com/hashicorp/nomad is v1.7.0
# or later (pre-releases of v1.7.0 included), the releases under BUSL-1.1.
nomad_busl() {
  [[ $1 =~ ^v([0-9]+)\.([0-9]+)\. ]] || return 0 # unparseable: assume the worst
  local major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
  ((major > 1 || (major == 1 && minor >= 7)))
}

# check_records RECORDS RESOLVED: checks the records (one a licence file of a
# module on a platform: platform, module, version, SPDX id or Unknown, module
# directory, licence file relative to it or empty; tab-separated) and writes
# one line a module to RESOLVED: module, version, licence expression,
# platforms, module directory, files for the notices (comma-separated), note.
# Prints every problem and returns 1 if there was one.
check_records() {
  local records=$1 resolved=$2
  local -A dir plats ids files unknown
  local -a keys=() errs=()
  local plat mod ver id mdir rel k
  while IFS=$'\t' read -r plat mod ver id mdir rel; do
    k="$mod"$'\t'"$ver"
    [[ -v "dir[$k]" ]] || keys+=("$k")
    dir[$k]=$mdir
    plats[$k]+="$plat"$'\n'
    ids[$k]+="${id:-Unknown}"$'\n'
    [[ -z $rel ]] || files[$k]+="$rel"$'\n'
    # An unidentified licence: which file, or "-" for none found.
    [[ ${id:-Unknown} != Unknown ]] || unknown[$k]+="${rel:--}"$'\n'
  done < <(LC_ALL=C sort -u "$records")
  mapfile -t keys < <(printf '%s\n' "${keys[@]}" | LC_ALL=C sort)

  local o omod over oexpr owhy expr note f name lname t found
  : >"$resolved"
  for k in "${keys[@]}"; do
    mod=${k%%$'\t'*} ver=${k#*$'\t'} mdir=${dir[$k]}
    # Licence files go-licenses found, then the NOTICEs at the module root
    # and, when the root's licence applies (not only a subdirectory's, as
    # for a forked package with its own), the root's other licence files.
    local -a lfiles=() extras=() nfiles=()
    [[ -n ${files[$k]:-} ]] && mapfile -t lfiles < <(printf '%s' "${files[$k]}" | LC_ALL=C sort -u)
    local rootlic=0
    for f in "${lfiles[@]}"; do [[ $f == */* ]] || rootlic=1; done
    if [[ -d $mdir ]]; then
      while IFS= read -r name; do
        lname=${name,,}
        if [[ $lname =~ ^notice ]]; then
          nfiles+=("$name")
        elif ((rootlic)) && [[ $lname =~ ^(licen[cs]e|copying|unlicense) ]]; then
          found=0
          for f in "${lfiles[@]}"; do [[ $f == "$name" ]] && found=1; done
          ((found)) || extras+=("$name")
        fi
      done < <(find "$mdir" -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort)
    fi

    over="" oexpr="" owhy=""
    for o in "${overrides[@]}"; do
      IFS='|' read -r omod over oexpr owhy <<<"$o"
      if [[ $omod == "$mod" ]]; then break; fi
      over="" oexpr="" owhy=""
    done
    note=""
    if [[ -n $oexpr ]]; then
      if [[ $over != "$ver" ]]; then
        errs+=("$mod $ver: the override is for $over; read the licence of $ver and update the override in hack/licenses.sh")
        continue
      fi
      expr=$oexpr note=$owhy
    else
      local -a idlist=() unk=()
      mapfile -t idlist < <(printf '%s' "${ids[$k]}" | LC_ALL=C sort -u)
      [[ -z ${unknown[$k]:-} ]] || mapfile -t unk < <(printf '%s' "${unknown[$k]}" | LC_ALL=C sort -u)
      for f in "${unk[@]}"; do
        if [[ $f == - ]]; then
          errs+=("$mod $ver: licence Unknown: no licence file found in the module (read its source and add an override)")
        else
          errs+=("$mod $ver: licence Unknown: go-licenses could not identify the licence in $f with enough confidence (read it and add an override)")
        fi
      done
      if ((${#extras[@]})); then
        errs+=("$mod $ver: licence file(s) ${extras[*]} at the module root, not classified by go-licenses (read them and add an override)")
      fi
      expr=""
      for id in "${idlist[@]}"; do expr+="${expr:+ AND }$id"; done
    fi

    # BUSL-1.1, whatever the classifier or an override says.
    if [[ $mod == github.com/hashicorp/nomad ]] && nomad_busl "$ver"; then
      errs+=("$mod $ver: licence BUSL-1.1: Nomad is under the Business Source License from v1.7.0 on, not an open-source licence; stay on v1.6.x (MPL-2.0)")
    fi
    for f in "${lfiles[@]}" "${extras[@]}"; do
      if [[ -f $mdir/$f ]] && grep -qi 'Business Source License' "$mdir/$f"; then
        errs+=("$mod $ver: licence BUSL-1.1: $f is a Business Source License, not an open-source licence")
      fi
    done
    for t in ${expr//[()]/ }; do
      case $t in
        AND | OR) ;;
        BUSL-*) errs+=("$mod $ver: licence $t: the Business Source License is not an open-source licence") ;;
        Unknown) ;; # reported above
        *) is_allowed "$t" || errs+=("$mod $ver: licence $t is not on the allow-list of OSI-approved licences in hack/licenses.sh") ;;
      esac
    done

    local all=""
    for f in "${lfiles[@]}" "${extras[@]}" "${nfiles[@]}"; do all+="${all:+,}$f"; done
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mod" "$ver" "$expr" \
      "$(printf '%s' "${plats[$k]}" | LC_ALL=C sort -u | paste -sd, - | sed 's/,/, /g')" \
      "$mdir" "$all" "$note" >>"$resolved"
  done

  if ((${#errs[@]})); then
    printf 'licenses: %s\n' "${errs[@]}" >&2
    say "${#errs[@]} problem(s); see the allow-list and overrides in hack/licenses.sh"
    return 1
  fi
}

# proxy_path MODULE: MODULE escaped for the module proxy (capitals as !x).
# shellcheck disable=SC2001 # \L (lower case) needs sed
proxy_path() { sed 's/[A-Z]/!\L&/g' <<<"$1"; }

# text FILE: FILE with LF line ends and a final newline.
text() {
  sed 's/\r$//' "$1"
  [[ -z $(tail -c1 "$1") ]] || echo
}

# write_notices RESOLVED: THIRD_PARTY_NOTICES on stdout.
write_notices() {
  local resolved=$1 mod ver expr plats mdir fl note f sep
  sep=$(printf '=%.0s' {1..79})
  local goroot_license gover
  goroot_license="$("$GO" env GOROOT)/LICENSE"
  gover=$("$GO" list -m -f '{{.GoVersion}}')
  cat <<EOF
THIRD-PARTY SOFTWARE NOTICES
nomad-iis: nomad_iis (the Nomad task driver plugin) and iissim

nomad-iis is licensed under the Mozilla Public License 2.0 (see LICENSE).
Its binaries include the third-party software listed below, each under its
own licence, reproduced in full. Generated by hack/licenses.sh
(\`make licenses\`) from go.mod; do not edit by hand.

Module, version, licence:

EOF
  while IFS=$'\t' read -r mod ver expr _; do
    printf '  %s %s (%s)\n' "$mod" "$ver" "$expr"
  done <"$resolved"
  printf '  Go standard library and runtime go%s (BSD-3-Clause)\n' "$gover"

  while IFS=$'\t' read -r mod ver expr plats mdir fl note; do
    printf '\n%s\n\n' "$sep"
    printf 'Module:    %s\nVersion:   %s\nLicence:   %s\nPlatforms: %s\n' "$mod" "$ver" "$expr" "$plats"
    if [[ " ${expr//[()]/ } " == *" MPL-2.0 "* ]]; then
      printf 'Source:    https://pkg.go.dev/%s@%s (archive: https://proxy.golang.org/%s/@v/%s.zip)\n' \
        "$mod" "$ver" "$(proxy_path "$mod")" "$(proxy_path "$ver")"
    fi
    [[ -z $note ]] || printf 'Note:      %s\n' "$note"
    IFS=, read -r -a lf <<<"$fl"
    for f in "${lf[@]}"; do
      printf '\n----- %s -----\n\n' "$f"
      text "$mdir/$f"
    done
  done <"$resolved"

  printf '\n%s\n\n' "$sep"
  printf 'Module:    Go standard library and runtime (https://go.dev)\nVersion:   go%s or later, as go.mod says\nLicence:   BSD-3-Clause\n' "$gover"
  printf '\n----- LICENSE -----\n\n'
  text "$goroot_license"
}

# collect PLATFORM: records (see check_records) of PLATFORM on stdout.
collect() {
  local goos=${1%/*} goarch=${1#*/} out=$tmp/${1//\//-}
  # As hack/dist.sh builds, and the same whether a C compiler is here or not.
  export CGO_ENABLED=0
  local -a pkgs
  if [[ -n ${LICENSES_PKGS:-} ]]; then
    read -r -a pkgs <<<"$LICENSES_PKGS"
  else
    GOOS=$goos GOARCH=$goarch "$GO" list -f '{{if eq .Name "main"}}{{.ImportPath}}{{end}}' ./cmd/... >"$out.pkgs"
    mapfile -t pkgs < <(awk NF "$out.pkgs")
  fi
  if ((${#pkgs[@]} == 0)); then
    say "$1: no main package under ./cmd"
    return 1
  fi
  # The modules linked in (go list also downloads what go-licenses needs).
  GOOS=$goos GOARCH=$goarch "$GO" list -deps -f \
    '{{with .Module}}{{if not .Main}}{{.Path}}{{"\t"}}{{.Version}}{{"\t"}}{{.Dir}}{{"\t"}}{{with .Replace}}{{.Path}} {{.Version}}{{end}}{{end}}{{end}}' \
    "${pkgs[@]}" | awk NF | LC_ALL=C sort -u >"$out.mods"
  if ! GOOS=$goos GOARCH=$goarch GOPROXY=off HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
    "$GO_LICENSES" report --ignore "$main_module" --template "$tmp/template" "${pkgs[@]}" \
    >"$out.report" 2>"$out.err"; then
    cat "$out.err" >&2
    say "go-licenses report failed for $1"
    return 1
  fi
  # go-licenses names libraries (directories sharing a licence file); map
  # each to the module it belongs to, the longest module path prefix.
  awk -F'\t' -v OFS='\t' -v plat="$1" -v errs="$out.errs" '
    FNR == NR { ver[$1] = $2; dir[$1] = $3; if ($4 != "") repl[$1] = $4; next }
    NF == 0 { next }
    {
      best = ""
      for (m in ver) if (($1 == m || index($1, m "/") == 1) && length(m) > length(best)) best = m
      if (best == "") { print $1 ": reported by go-licenses but in no linked module" > errs; next }
      seen[best] = 1
      if ($2 != ver[best]) { print $1 ": go-licenses says version " $2 ", go list " ver[best] > errs; next }
      rel = ""
      if ($4 != "") {
        if (index($4, dir[best] "/") != 1) { print $1 ": licence file outside its module" > errs; next }
        rel = substr($4, length(dir[best]) + 2)
      }
      print plat, best, ver[best], ($3 == "" ? "Unknown" : $3), dir[best], rel
    }
    END {
      for (m in ver) if (!(m in seen)) print plat, m, ver[m], "Unknown", dir[m], ""
      for (m in repl) print m ": replaced by " repl[m] "; the notices need the replacement'"'"'s licence, check it by hand" > errs
    }' "$out.mods" "$out.report"
  if [[ -s $out.errs ]]; then
    sed "s|^|licenses: $1: |" "$out.errs" >&2
    return 1
  fi
}

# self_test: the check on fixtures, which must reject BUSL-1.1 (by id, by
# text and as Nomad >= v1.7.0), unknown and non-allowed licences and stale
# overrides, and accept good modules.
self_test() {
  local st=$tmp/self-test fails=0
  mkdir -p "$st/good" "$st/busl" "$st/nolicence" "$st/extra" "$st/nomad"
  printf 'MIT License\n\nCopyright (c) 2020 Someone\n\nPermission is hereby granted...\n' >"$st/good/LICENSE"
  printf 'Licensed under the Apache License, Version 2.0\n' >"$st/good/NOTICE"
  printf 'License text copyright (c) 2020 MariaDB Corporation Ab.\n\nBusiness Source License 1.1\n' >"$st/busl/LICENSE"
  cp "$st/good/LICENSE" "$st/extra/LICENSE"
  printf 'Some other licence\n' >"$st/extra/LICENSE_OTHER"
  cp LICENSE "$st/nomad/LICENSE"
  # case WANT(accept|reject) MESSAGE-REGEX RECORD... : runs the check on RECORDs.
  case_() {
    local want=$1 re=$2 rc=0
    shift 2
    printf '%s\n' "$@" | sed "s|@|$st/|" >"$st/records"
    check_records "$st/records" "$st/resolved" 2>"$st/err" || rc=$?
    if [[ $want == accept && $rc != 0 ]] || [[ $want == reject && $rc == 0 ]] ||
      ! grep -qE -- "$re" "$st/err" "$st/resolved"; then
      say "self-test FAILED: wanted $want matching /$re/ for: $*"
      sed 's/^/    /' "$st/err" >&2
      fails=$((fails + 1))
    fi
  }
  local T=$'\t' L=linux/amd64
  case_ accept "^example.com/good${T}v1.0.0${T}MIT${T}linux/amd64, windows/amd64${T}.*${T}LICENSE,NOTICE${T}\$" \
    "$L${T}example.com/good${T}v1.0.0${T}MIT${T}@good${T}LICENSE" \
    "windows/amd64${T}example.com/good${T}v1.0.0${T}MIT${T}@good${T}LICENSE"
  case_ reject 'example.com/busl v1.0.0: licence BUSL-1.1' "$L${T}example.com/busl${T}v1.0.0${T}BUSL-1.1${T}@busl${T}LICENSE"
  case_ reject 'example.com/busl v1.0.0: licence BUSL-1.1: LICENSE is a Business Source License' \
    "$L${T}example.com/busl${T}v1.0.0${T}MIT${T}@busl${T}LICENSE"
  case_ reject 'github.com/hashicorp/nomad v1.7.0: licence BUSL-1.1' "$L${T}github.com/hashicorp/nomad${T}v1.7.0${T}MPL-2.0${T}@nomad${T}LICENSE"
  case_ reject 'github.com/hashicorp/nomad v1.7.0-beta.1: licence BUSL-1.1' "$L${T}github.com/hashicorp/nomad${T}v1.7.0-beta.1${T}MPL-2.0${T}@nomad${T}LICENSE"
  case_ reject 'github.com/hashicorp/nomad v1.10.5: licence BUSL-1.1' "$L${T}github.com/hashicorp/nomad${T}v1.10.5${T}MPL-2.0${T}@nomad${T}LICENSE"
  case_ accept "^github.com/hashicorp/nomad${T}v1.6.3${T}MPL-2.0${T}" "$L${T}github.com/hashicorp/nomad${T}v1.6.3${T}MPL-2.0${T}@nomad${T}LICENSE"
  case_ reject 'example.com/unknown v1.0.0: licence Unknown: no licence file' "$L${T}example.com/unknown${T}v1.0.0${T}Unknown${T}@nolicence${T}"
  case_ reject 'example.com/fuzzy v1.0.0: licence Unknown: go-licenses could not identify' "$L${T}example.com/fuzzy${T}v1.0.0${T}Unknown${T}@good${T}LICENSE"
  case_ reject 'example.com/sspl v1.0.0: licence SSPL-1.0 is not on the allow-list' "$L${T}example.com/sspl${T}v1.0.0${T}SSPL-1.0${T}@good${T}LICENSE"
  case_ reject 'example.com/extra v1.0.0: licence file\(s\) LICENSE_OTHER' "$L${T}example.com/extra${T}v1.0.0${T}MIT${T}@extra${T}LICENSE"
  # Overrides: one settles a licence, a stale one fails, none bypasses BUSL.
  local -a saved=("${overrides[@]}")
  overrides=("example.com/extra|v1.0.0|MIT AND ISC|fixture" "example.com/old|v1.0.0|MIT|fixture" "example.com/busl|v1.0.0|MIT|fixture")
  case_ accept "^example.com/extra${T}v1.0.0${T}MIT AND ISC${T}.*${T}LICENSE,LICENSE_OTHER${T}fixture\$" "$L${T}example.com/extra${T}v1.0.0${T}MIT${T}@extra${T}LICENSE"
  case_ reject 'example.com/old v1.1.0: the override is for v1.0.0' "$L${T}example.com/old${T}v1.1.0${T}Unknown${T}@nolicence${T}"
  case_ reject 'example.com/busl v1.0.0: licence BUSL-1.1' "$L${T}example.com/busl${T}v1.0.0${T}Unknown${T}@busl${T}LICENSE"
  overrides=("${saved[@]}")
  if ((fails)); then
    say "self-test: $fails case(s) failed"
    return 1
  fi
  say "self-test passed (BUSL-1.1, Nomad >= v1.7.0, unknown and non-allowed licences rejected; good ones accepted)"
}

mode=${1:-}
case $mode in
  "" | --check | --self-test) ;;
  *)
    echo "usage: $0 [--check|--self-test]" >&2
    exit 2
    ;;
esac
self_test
[[ $mode == --self-test ]] && exit 0

GO_LICENSES=${GO_LICENSES:-$("$GO" env GOPATH)/bin/go-licenses}
install_hint="$GO install github.com/google/go-licenses@$GO_LICENSES_VERSION (or make licenses)"
[[ -x $GO_LICENSES ]] || {
  say "no go-licenses at $GO_LICENSES: $install_hint"
  exit 1
}
have=$("$GO" version -m "$GO_LICENSES" | awk '$1 == "mod" { print $3 }')
[[ $have == "$GO_LICENSES_VERSION" ]] || {
  say "$GO_LICENSES is go-licenses ${have:-of an unknown version}, not $GO_LICENSES_VERSION: $install_hint"
  exit 1
}
main_module=$("$GO" list -m)

printf '{{range .}}{{.Name}}\t{{.Version}}\t{{.LicenseName}}\t{{.LicensePath}}\n{{end}}' >"$tmp/template"
pids=()
for p in $LICENSES_PLATFORMS; do
  collect "$p" >"$tmp/records-${p//\//-}" &
  pids+=($!)
done
rc=0
for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
((rc == 0)) || exit 1
cat "$tmp"/records-* >"$tmp/records"
check_records "$tmp/records" "$tmp/resolved"
for o in "${overrides[@]}"; do
  cut -f1 "$tmp/resolved" | grep -qxF "${o%%|*}" || {
    say "the override for ${o%%|*} matches no linked module: remove it from hack/licenses.sh"
    exit 1
  }
done
write_notices "$tmp/resolved" >"$tmp/notices"

say "$(wc -l <"$tmp/resolved") modules on ${LICENSES_PLATFORMS// /, }, all allowed: $(cut -f3 "$tmp/resolved" |
  sed 's/ AND /\n/g' | LC_ALL=C sort | uniq -c | awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " }')"
if [[ $mode == --check ]]; then
  if ! cmp -s "$tmp/notices" "$NOTICES_FILE"; then
    diff -u "$NOTICES_FILE" "$tmp/notices" 2>&1 | head -40 >&2 || true
    say "$NOTICES_FILE is out of date with go.mod: run make licenses and commit it"
    exit 1
  fi
  say "$NOTICES_FILE is up to date"
else
  cp "$tmp/notices" "$NOTICES_FILE"
  say "wrote $NOTICES_FILE"
fi
