#!/usr/bin/env bash
# Builds the release archives of nomad-iis into dist/ (emptied first):
#
#   nomad_iis_<V>_windows_amd64.zip    nomad_iis.exe, LICENSE, THIRD_PARTY_NOTICES,
#   nomad_iis_<V>_windows_arm64.zip    README.md, CHANGELOG.md
#   nomad_iis_<V>_linux_amd64.tar.gz   nomad_iis, iissim, the same text files and
#                                      examples/ (to try the driver on iissim)
#   nomad_iis_<V>_<os>_<arch>.sbom.cdx.json  CycloneDX SBOM of each archive's
#                                      nomad_iis (iissim is a subset of it), by
#                                      cyclonedx-gomod
#   nomad-iis_<V>_<os>_<arch>.zip      the command-line client nomad-iis.exe
#                                      (windows amd64/arm64) and the text files
#   nomad-iis_<V>_<os>_<arch>.tar.gz   nomad-iis and the text files (linux and
#                                      darwin, amd64 and arm64)
#   nomad-iis_<V>_<os>_<arch>.sbom.cdx.json  CycloneDX SBOM of each nomad-iis
#   SIGNING.txt                        "unsigned", or the Authenticode signer's
#                                      subject and SHA-256 fingerprint
#   SHA256SUMS                         sha256sum of all of the above
#                                      (`cd dist && sha256sum -c SHA256SUMS`)
#
# Binaries: CGO_ENABLED=0, -trimpath, -ldflags "-s -w -X
# github.com/nomad-iis/nomad-iis/version.Version=<V>". Archives are
# reproducible: files sorted, owner 0, modes normalized, every mtime
# SOURCE_DATE_EPOCH (signed .exe files are not: a signature carries its
# signing time).
#
# Environment:
#   VERSION          the version <V>, with or without a leading "v". Default:
#                    the tag on HEAD (git describe --tags --match 'v[0-9]*'
#                    --dirty, "v" stripped: "1.2.3", or "1.2.3-4-gabc1234" on
#                    a later commit, "-dirty" with uncommitted changes). With
#                    no such tag: version.Version's release with "-dev+g<short
#                    sha>" (".dirty" added with uncommitted changes), such as
#                    0.21.0-dev+g03ce85d.
#   SOURCE_DATE_EPOCH  mtime of every archived file (default: HEAD's commit
#                    time, else 0).
#   NOMAD_IIS_SIGN_CERT            PEM certificate (the signer's first, then
#                                  its chain) for Authenticode signing of the
#                                  .exe files with osslsigncode (SHA-256).
#   NOMAD_IIS_SIGN_KEY             PEM private key of that certificate.
#                                  Both or neither: without them the .exe
#                                  files are unsigned (a warning, and
#                                  SIGNING.txt says "unsigned").
#   NOMAD_IIS_SIGN_KEY_PASSWORD    the key's password, if it is encrypted
#                                  (given to osslsigncode in a file, never on
#                                  a command line).
#   NOMAD_IIS_SIGN_TIMESTAMP_URL   RFC 3161 timestamp server (optional), so
#                                  that signatures outlive the certificate.
#   DIST_DIR         output directory (default dist, in the repository).
#   DIST_DOCS_DIR    where LICENSE, THIRD_PARTY_NOTICES, README.md and
#                    CHANGELOG.md are read (default: the repository root; the
#                    release test points it elsewhere).
#   GO               the go command (default go).
#   CYCLONEDX_GOMOD  the cyclonedx-gomod command (default: GOPATH/bin, where
#                    github.com/CycloneDX/cyclonedx-gomod v1.10.0 is installed
#                    when it is missing or another version).
# Needs: go, zip, tar, gzip, sha256sum, jq; openssl and osslsigncode to sign
# (hack/install-deps.sh installs them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

say() { echo "dist: $*"; }
warn() { echo "dist: WARNING: $*" >&2; }
die() { echo "dist: error: $*" >&2; exit 1; }

GO=${GO:-go}
CYCLONEDX_GOMOD_VERSION=v1.10.0
MODULE=github.com/nomad-iis/nomad-iis
PROJECT_URL=https://github.com/nomad-iis/nomad-iis
dist=${DIST_DIR:-dist}
docs=${DIST_DOCS_DIR:-$root}
text_files=(LICENSE THIRD_PARTY_NOTICES README.md CHANGELOG.md)
# os/arch: the archives, in the order they are built.
targets=(windows/amd64 windows/arm64 linux/amd64)
# os/arch of the command-line client's archives (CI runners and workstations).
cli_targets=(windows/amd64 windows/arm64 linux/amd64 linux/arm64 darwin/amd64 darwin/arm64)

for tool in "$GO" zip tar gzip sha256sum jq; do
  command -v "$tool" >/dev/null || die "$tool is not installed (run hack/install-deps.sh)"
done

# The text files every archive carries: all present, or stop now, before
# any build.
missing=()
for f in "${text_files[@]}"; do
  [[ -s "$docs/$f" ]] || missing+=("$f")
done
if ((${#missing[@]})); then
  die "missing in $docs: ${missing[*]} (every archive must carry ${text_files[*]}; LICENSE and THIRD_PARTY_NOTICES come from 'make licenses')"
fi

# Signing: both of certificate and key, or neither.
cert=${NOMAD_IIS_SIGN_CERT:-}
key=${NOMAD_IIS_SIGN_KEY:-}
sign=0
if [[ -n "$cert" || -n "$key" ]]; then
  [[ -n "$cert" ]] || die "NOMAD_IIS_SIGN_KEY is set but NOMAD_IIS_SIGN_CERT is not: set both to sign, neither to build unsigned"
  [[ -n "$key" ]] || die "NOMAD_IIS_SIGN_CERT is set but NOMAD_IIS_SIGN_KEY is not: set both to sign, neither to build unsigned"
  [[ -r "$cert" ]] || die "NOMAD_IIS_SIGN_CERT: cannot read $cert"
  [[ -r "$key" ]] || die "NOMAD_IIS_SIGN_KEY: cannot read $key"
  for tool in openssl osslsigncode; do
    command -v "$tool" >/dev/null || die "$tool is needed to sign (run hack/install-deps.sh)"
  done
  cert=$(cd "$(dirname "$cert")" && pwd)/$(basename "$cert")
  key=$(cd "$(dirname "$key")" && pwd)/$(basename "$key")
  sign=1
fi

# The version.
release_of_source() {
  sed -n 's/^var Version = "\(.*\)"$/\1/p' version/version.go | sed 's/-dev$//'
}
if [[ -n "${VERSION:-}" ]]; then
  V=${VERSION#v}
elif described=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then
  V=${described#v}
else
  base=$(release_of_source)
  [[ -n "$base" ]] || die "cannot read the version from version/version.go; set VERSION"
  if sha=$(git rev-parse --short=7 HEAD 2>/dev/null); then
    V="$base-dev+g$sha"
    [[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]] || V="$V.dirty"
  else
    V="$base-dev"
  fi
fi
[[ "$V" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?$ ]] ||
  die "version '$V' is not of the form 1.2.3[-pre][+build] (set VERSION)"

if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
fi
[[ "$SOURCE_DATE_EPOCH" =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH '$SOURCE_DATE_EPOCH' is not a number of seconds"
export SOURCE_DATE_EPOCH

# cyclonedx-gomod: the given command, else this version in GOPATH/bin
# (installed again when another version is there).
if [[ -n "${CYCLONEDX_GOMOD:-}" ]]; then
  cdx=$CYCLONEDX_GOMOD
  command -v "$cdx" >/dev/null || die "CYCLONEDX_GOMOD: $cdx is not a command"
else
  cdx=$("$GO" env GOPATH)/bin/cyclonedx-gomod
  if ! "$GO" version -m "$cdx" 2>/dev/null |
    grep -qE "^\s+mod\s+github.com/CycloneDX/cyclonedx-gomod\s+$CYCLONEDX_GOMOD_VERSION\s"; then
    say "go install github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@$CYCLONEDX_GOMOD_VERSION"
    "$GO" install "github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@$CYCLONEDX_GOMOD_VERSION"
  fi
fi

say "version $V"
case "$dist" in
  "" | / | . | .. | "$root") die "DIST_DIR '$dist' would remove more than the output" ;;
esac
rm -rf "$dist"
mkdir -p "$dist"
dist=$(cd "$dist" && pwd)
work="$dist/.work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

# Build: every binary once.
ldflags="-s -w -X $MODULE/version.Version=$V"
build() { # goos goarch package output
  say "go build $3 ($1/$2)"
  CGO_ENABLED=0 GOOS=$1 GOARCH=$2 "$GO" build -trimpath -ldflags "$ldflags" -o "$4" "$3"
}
for t in "${targets[@]}"; do
  os=${t%/*} arch=${t#*/}
  bin="$work/bin/${os}_$arch"
  mkdir -p "$bin"
  if [[ $os == windows ]]; then
    build "$os" "$arch" ./cmd/nomad_iis "$bin/nomad_iis.exe"
  else
    build "$os" "$arch" ./cmd/nomad_iis "$bin/nomad_iis"
    build "$os" "$arch" ./cmd/iissim "$bin/iissim"
  fi
done
for t in "${cli_targets[@]}"; do
  os=${t%/*} arch=${t#*/}
  cli="$work/cli/${os}_$arch"
  mkdir -p "$cli"
  exe=nomad-iis
  [[ $os == windows ]] && exe=nomad-iis.exe
  build "$os" "$arch" ./cmd/nomad-iis "$cli/$exe"
done

# Check the version: --version of the binaries this machine runs, and the
# string in every binary (-trimpath keeps -ldflags out of `go version -m`).
for f in "$work"/bin/*/* "$work"/cli/*/*; do
  grep -aqF -- "$V" "$f" || die "${f#"$work/"} does not hold the version $V"
done
host="$("$GO" env GOOS)_$("$GO" env GOARCH)"
if [[ -d "$work/bin/$host" ]]; then
  for b in nomad_iis iissim; do
    got=$("$work/bin/$host/$b" --version)
    [[ "$got" == "$b $V" ]] || die "$b --version printed '$got', not '$b $V'"
    say "$b --version: $got"
  done
  got=$("$work/cli/$host/nomad-iis" --version)
  [[ "$got" == "nomad-iis $V" ]] || die "nomad-iis --version printed '$got', not 'nomad-iis $V'"
  say "nomad-iis --version: $got"
else
  warn "this machine ($host) runs none of the binaries; --version not checked"
fi

# Authenticode signing of the .exe files, each checked against the
# certificate afterwards.
if ((sign)); then
  leaf="$work/leaf.pem"
  openssl x509 -in "$cert" -out "$leaf" 2>/dev/null || die "NOMAD_IIS_SIGN_CERT: $cert holds no PEM certificate"
  subject=$(openssl x509 -in "$leaf" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
  fingerprint=$(openssl x509 -in "$leaf" -noout -fingerprint -sha256 | sed 's/^.*=//')
  passin=(-passin pass:) # never a prompt
  passfile="$work/key-password"
  if [[ -n "${NOMAD_IIS_SIGN_KEY_PASSWORD:-}" ]]; then
    (umask 077 && printf '%s' "$NOMAD_IIS_SIGN_KEY_PASSWORD" >"$passfile")
    passin=(-passin "file:$passfile")
  fi
  keypub=$(openssl pkey -in "$key" "${passin[@]}" -pubout 2>/dev/null) ||
    die "NOMAD_IIS_SIGN_KEY: cannot read the private key $key (wrong or missing NOMAD_IIS_SIGN_KEY_PASSWORD?)"
  [[ "$keypub" == "$(openssl x509 -in "$leaf" -noout -pubkey)" ]] ||
    die "NOMAD_IIS_SIGN_KEY is not the key of the certificate $subject"
  # The verification trusts the given certificates and the system's roots
  # (for a chain that ends at a public root).
  trust="$work/trust.pem"
  cat "$cert" >"$trust"
  [[ -r /etc/ssl/certs/ca-certificates.crt ]] && cat /etc/ssl/certs/ca-certificates.crt >>"$trust"
  sign_args=(-certs "$cert" -key "$key" -h sha256 -n "nomad-iis" -i "$PROJECT_URL")
  [[ -n "${NOMAD_IIS_SIGN_KEY_PASSWORD:-}" ]] && sign_args+=(-readpass "$passfile")
  [[ -n "${NOMAD_IIS_SIGN_TIMESTAMP_URL:-}" ]] && sign_args+=(-ts "$NOMAD_IIS_SIGN_TIMESTAMP_URL")
  # The check pins the signer (-require-leaf-hash) and fetches no CRL (this
  # checks our own fresh signature; -ignore-crl is osslsigncode 2.9's name,
  # -ignore-cdp older versions').
  ossl_help=$(osslsigncode -h 2>&1 || true)
  verify_args=()
  if grep -q -- -require-leaf-hash <<<"$ossl_help"; then
    verify_args+=(-require-leaf-hash "sha256:$(tr -d : <<<"$fingerprint")")
  fi
  if grep -q -- -ignore-crl <<<"$ossl_help"; then
    verify_args+=(-ignore-crl)
  elif grep -q -- -ignore-cdp <<<"$ossl_help"; then
    verify_args+=(-ignore-cdp)
  fi
  for exe in "$work"/bin/windows_*/nomad_iis.exe "$work"/cli/windows_*/nomad-iis.exe; do
    say "sign ${exe#"$work/"} (Authenticode, SHA-256, $subject)"
    osslsigncode sign "${sign_args[@]}" -in "$exe" -out "$exe.signed" >"$work/sign.log" 2>&1 ||
      { cat "$work/sign.log" >&2; die "osslsigncode could not sign $exe"; }
    mv "$exe.signed" "$exe"
    osslsigncode verify -in "$exe" -CAfile "$trust" "${verify_args[@]}" >"$work/verify.log" 2>&1 ||
      { cat "$work/verify.log" >&2; die "the signature of $exe does not verify against $cert"; }
    say "verified ${exe#"$work/"}"
  done
  rm -f "$passfile"
  {
    echo "nomad-iis $V: the Windows binaries (nomad_iis.exe, nomad-iis.exe) are signed (Authenticode, SHA-256)."
    echo "signer: $subject"
    echo "sha256 fingerprint: $fingerprint"
    if [[ -n "${NOMAD_IIS_SIGN_TIMESTAMP_URL:-}" ]]; then
      echo "timestamp: $NOMAD_IIS_SIGN_TIMESTAMP_URL"
    else
      echo "timestamp: none"
    fi
  } >"$dist/SIGNING.txt"
else
  warn "NOMAD_IIS_SIGN_CERT and NOMAD_IIS_SIGN_KEY are not set: the Windows binaries are UNSIGNED"
  echo "nomad-iis $V: the Windows binaries (nomad_iis.exe, nomad-iis.exe) are unsigned." >"$dist/SIGNING.txt"
fi

# Archives, staged with normalized modes and mtimes: the plugin's
# (nomad_iis_*) and the command-line client's (nomad-iis_*).
mtime="@$SOURCE_DATE_EPOCH"
archive_list=()
for t in "${targets[@]}"; do archive_list+=("nomad_iis bin $t"); done
for t in "${cli_targets[@]}"; do archive_list+=("nomad-iis cli $t"); done
for a in "${archive_list[@]}"; do
  read -r product bindir t <<<"$a"
  os=${t%/*} arch=${t#*/}
  name="${product}_${V}_${os}_$arch"
  stage="$work/stage/$name"
  mkdir -p "$stage"
  cp "$work/$bindir/${os}_$arch"/* "$stage/"
  for f in "${text_files[@]}"; do cp "$docs/$f" "$stage/$f"; done
  [[ $product == nomad_iis && $os == linux ]] && cp -R examples "$stage/examples"
  find "$stage" -type d -exec chmod 0755 {} +
  find "$stage" -type f -exec chmod 0644 {} +
  for b in nomad_iis nomad_iis.exe iissim nomad-iis nomad-iis.exe; do
    [[ ! -f "$stage/$b" ]] || chmod 0755 "$stage/$b"
  done
  find "$stage" -exec env TZ=UTC touch -h -d "$mtime" {} +
  if [[ $os == windows ]]; then
    say "zip $name.zip"
    (cd "$stage" && find . -type f | sed 's|^\./||' | LC_ALL=C sort |
      TZ=UTC zip -q -X -9 -@ "$dist/$name.zip")
  else
    say "tar $name.tar.gz"
    (cd "$stage" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort |
      tar --create --no-recursion --files-from=- --format=gnu \
        --mtime="$mtime" --owner=0 --group=0 --numeric-owner |
      gzip -n -9 >"$dist/$name.tar.gz")
  fi
done

# SBOMs: the modules linked into each archive's nomad_iis or nomad-iis
# (GOOS/GOARCH as built), with the version of this release and the
# archive's date.
purl_version="v${V//+/%2B}"
say "SBOMs (cyclonedx-gomod app)"
pids=()
for a in "${archive_list[@]}"; do
  read -r product _ t <<<"$a"
  os=${t%/*} arch=${t#*/}
  name="${product}_${V}_${os}_$arch"
  (
    CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOFLAGS=-trimpath "$cdx" app -json -licenses -noserial \
      -main "cmd/$product" -output "$work/$name.sbom.json" . 2>"$work/$name.sbom.log" ||
      { cat "$work/$name.sbom.log" >&2; exit 1; }
    # cyclonedx-gomod names the main module by its pseudo-version (from git);
    # give it the release's version wherever it appears.
    old=$(jq -r '.metadata.component.version' "$work/$name.sbom.json")
    jq --arg old "$MODULE@$old" --arg new "$MODULE@$purl_version" --arg v "v$V" --argjson t "$SOURCE_DATE_EPOCH" '
      walk(if type == "string" then (split($old) | join($new)) else . end)
      | .metadata.component.version = $v
      | .metadata.timestamp = ($t | todate)' \
      "$work/$name.sbom.json" >"$dist/$name.sbom.cdx.json"
  ) &
  pids+=($!)
done
sbom_failed=0
for pid in "${pids[@]}"; do wait "$pid" || sbom_failed=1; done
((sbom_failed == 0)) || die "an SBOM could not be made"

rm -rf "$work"
(cd "$dist" && find . -maxdepth 1 -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort |
  xargs sha256sum >SHA256SUMS)
(cd "$dist" && sha256sum --quiet -c SHA256SUMS) || die "SHA256SUMS does not check out"
say "done: $dist"
(cd "$dist" && ls -l --time-style=+ | tail -n +2 | awk '{printf "  %10s  %s\n", $5, $NF}')
