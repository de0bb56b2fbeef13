"""``sdaug ui`` / ``python app.py``: start the web app."""

from __future__ import annotations

import argparse
import os

from sdaug.settings import Settings


def run(args: argparse.Namespace) -> int:
    # 1. Settings: --home is the data folder (exported so every part of the app agrees).
    if args.home:
        os.environ["SDAUG_HOME"] = args.home
    settings = Settings.from_env(allow_pickle=args.allow_pickle or None, lang=args.lang)
    forced_lang = args.lang or os.environ.get("SDAUG_LANG") or None

    # 2. Logins and serving options.
    from sdaug.ui.launch import LaunchOptions, launch, parse_auth, read_auth_file

    logins = parse_auth(args.auth)
    if args.auth_file:
        logins += read_auth_file(args.auth_file)
    options = LaunchOptions(port=args.port, listen=args.listen, share=args.share,
                            share_without_auth=args.share_without_auth, auth=logins,
                            max_upload_mb=args.max_upload_mb, max_queue=args.max_queue,
                            max_request_kb=args.max_request_kb, host=args.host, import_roots=args.import_root)
    launch(settings, options, model=args.model or "", project=args.project, lang=forced_lang)
    return 0
