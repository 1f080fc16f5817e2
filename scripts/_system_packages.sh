# Sourced by scripts/test and scripts/make_qr: the Debian packages posters and the portal
# test need, installed once when missing (CI and developer machines run as root).
#   fonts-noto-cjk  Chinese text on posters (Pillow) and in headless Chromium (SIL OFL 1.1)
#   chromium        headless browser for tests/portal (loads GET / and takes its screenshot)

_apt_updated=""

apt_install() {
  if [ "$(id -u)" != "0" ]; then
    echo "!! missing Debian packages: $* (run as root: apt-get install $*)" >&2
    return 1
  fi
  if [ -z "$_apt_updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    _apt_updated=1
  fi
  echo "==> apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The font paths backend/portal/fonts.py looks for, in order.
CJK_FONTS=(
  /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
  /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
)

ensure_cjk_font() {
  local font
  if [ -n "${POSTER_FONT:-}" ] && [ -f "$POSTER_FONT" ]; then
    return 0
  fi
  for font in "${CJK_FONTS[@]}"; do
    [ -f "$font" ] && return 0
  done
  apt_install fonts-noto-cjk fontconfig || true
}

ensure_chromium() {
  if command -v chromium >/dev/null 2>&1; then
    return 0
  fi
  apt_install chromium || true
}
