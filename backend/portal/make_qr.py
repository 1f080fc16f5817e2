"""`scripts/make_qr`: A4 posters (PNG and PDF) with each school's QR code, and the county's.

    scripts/make_qr                       # every active school of the default authority + county
    scripts/make_qr --school LX001        # one school (repeat --school for more)
    scripts/make_qr --county              # only the county poster (for the portal)
    scripts/make_qr --kind wxacode        # mini-program codes from WeChat (real credentials)

The codes are ordinary-link QR codes (`<PUBLIC_BASE_URL>/mp/s/<code>`, made locally) unless
real WeChat credentials are configured (`--kind auto`, the default) or `--kind wxacode` is
given: then mini-program codes come from getwxacodeunlimit through the WeChat adapter.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy import select

from backend import create_app
from backend.authorities.services import resolve_authority
from backend.config import DEFAULT_WECHAT_APPID, INSTANCE_DIR
from backend.core.db import db
from backend.core.errors import ApiError
from backend.portal import links, posters
from backend.portal.fonts import FontMissing
from backend.schools.models import School
from backend.wechat.client import WeChatError, WeChatUnavailable


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scripts/make_qr", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--authority", help="authority code (default: the deployment's default)")
    parser.add_argument("--school", action="append", default=[], metavar="CODE",
                        help="only this school (repeatable)")
    parser.add_argument("--county", action="store_true", help="only the county poster")
    parser.add_argument("--out", type=Path, default=INSTANCE_DIR / "posters",
                        help="output folder (default: instance/posters)")
    parser.add_argument("--base-url", default=None,
                        help="the registered HTTPS domain in the links (default: PUBLIC_BASE_URL)")
    parser.add_argument("--kind", choices=("auto", "link", "wxacode"), default="auto",
                        help="ordinary-link QR or mini-program code (auto: wxacode when real "
                             "WeChat credentials are configured)")
    parser.add_argument("--env-version", choices=("release", "trial", "develop"),
                        default="release", help="which build a mini-program code opens")
    parser.add_argument("--format", choices=("png", "pdf", "both"), default="both")
    return parser


def _kind(requested: str, appid: str) -> str:
    if requested != "auto":
        return requested
    return "link" if appid == DEFAULT_WECHAT_APPID else "wxacode"


def make_posters(args: argparse.Namespace) -> list[Path]:
    """Render the posters the arguments ask for (inside an app context); return the files."""
    authority = resolve_authority(args.authority)
    default = resolve_authority(None)
    authority_param = None if default.id == authority.id else authority.code
    base_url = (args.base_url or links.public_base_url()).rstrip("/")
    from flask import current_app

    kind = _kind(args.kind, current_app.config["WECHAT_APPID"])
    formats = ("png", "pdf") if args.format == "both" else (args.format,)
    season = posters.season_of(authority)
    written: list[Path] = []

    if args.school:
        schools = list(db.session.scalars(select(School).where(School.code.in_(args.school))))
        unknown = set(args.school) - {s.code for s in schools}
        if unknown:
            raise SystemExit(f"unknown school code(s): {', '.join(sorted(unknown))}")
    elif args.county:
        schools = []
    else:
        schools = list(db.session.scalars(
            select(School).where(School.authority_id == authority.id, School.is_active.is_(True))
            .order_by(School.code)))

    for school in schools:
        image = posters.school_code_image(school, base_url, kind, args.env_version)
        school_season = season if school.authority_id == authority.id \
            else posters.season_of(school.authority)
        spec = posters.school_spec(school, school_season, base_url, with_link=kind == "link")
        stem = args.out / f"{school.authority.code}-{school.code}"
        written += posters.render(spec, image).save(stem, formats)
        target = links.school_link(school.code, base_url) if kind == "link" \
            else f"scene {links.school_scene(school.code)}"
        print(f"{school.code} {school.name}: {target}")

    if args.county or not args.school:
        image = posters.county_code_image(authority, authority_param, base_url, kind,
                                          args.env_version)
        link = links.county_link(authority_param, base_url) if kind == "link" else None
        spec = posters.county_spec(authority, season, base_url, link)
        written += posters.render(spec, image).save(args.out / f"{authority.code}-county",
                                                    formats)
        target = link or f"scene {links.authority_scene(authority.code)}"
        print(f"county {authority.name}: {target}")
    return written


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, render, print where the files went."""
    args = _parser().parse_args(argv)
    app = create_app()
    with app.app_context():
        try:
            written = make_posters(args)
        except (ApiError, FontMissing, posters.TofuError) as exc:
            print(f"make_qr: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
            return 1
        except (WeChatError, WeChatUnavailable) as exc:
            print(f"make_qr: WeChat refused the mini-program code ({exc}); "
                  "use --kind link for ordinary-link QR codes", file=sys.stderr)
            return 1
        finally:
            db.session.remove()
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
