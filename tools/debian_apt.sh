# Sourced by tools/free_threaded.sh and tools/newest_pythons.sh: Debian's archive through a
# private apt list, so the machine's own apt sources and lists stay untouched.

debian_uri() {
  # The Debian archive this machine already uses (so no host is written down here).
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
        | awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i} $1 == "deb" {print $2}' \
        | grep -E '/debian/?$' | head -n 1) || true
  [ -n "$uri" ] && echo "$uri"
}

# private_apt DIR TYPE SUITES: write DIR/private.sources and set APT_OPTS to use only it.
private_apt() {
  local dir=$1 type=$2 suites=$3 uri
  uri=$(debian_uri) || { echo "no Debian archive in the apt sources" >&2; return 1; }
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  printf 'Types: %s\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$type" "$uri" "$suites" > "$dir/private.sources"
  APT_OPTS=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$dir"
            -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache"
            -o APT::Sandbox::User=root)
}

can_use_apt() {
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null && [ "$(id -u)" = 0 ]
}
