"""`disval serve`, `disval user ...` and `disval token ...`: run the portal, manage its accounts.

The accounts live in the store, so these commands take `--store` like the
gate's. A token is printed once, and only its hash is kept.
"""
from __future__ import annotations

import argparse
import getpass
import sys

from ..errors import UsageError
from ..gate.commands import _digits, _guarded
from ..plugins import close_plugins, get_plugin_manager
from ..store import accounts as book


def add_portal_commands(subparsers) -> None:
    """Register `serve`, `user` and `token` with the `disval` parser."""
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--store", metavar="URL", help="sqlite:///PATH or postgresql://USER@HOST/DB "
                       "(default: $DISVAL_STORE, else an SQLite file in the user's data directory)")
    store.add_argument("--create", action="store_true", help="create the SQLite store if it does not exist yet")

    serve = subparsers.add_parser("serve", parents=[store], help="run the portal and its API (pip install 'disval[serve]')")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--secret-key", help="signs session cookies (default: $DISVAL_SECRET_KEY, else random per start)")
    serve.add_argument("--max-upload-mb", type=int, default=2048, metavar="MB", help="largest upload (default 2048)")
    serve.add_argument("--stall-after", type=float, default=300, metavar="S",
                       help="seconds without progress before a delivery shows 'stalled' (default 300)")
    serve.add_argument("--report-formats", metavar="F,F", help="formats of the kept reports (default: every installed)")
    serve.add_argument("--codelists", metavar="DIR", help="codelist source (default: the standard's shipped lists)")
    serve.add_argument("--policy", help="blocking policy (default: the standard's default)")
    serve.add_argument("--require-real-codelists", action=argparse.BooleanOptionalAction, default=True,
                       help="assess negative when a codelist used is a sample (default: on, as in 'submit')")
    serve.add_argument("--worker", action=argparse.BooleanOptionalAction, default=None,
                       help="process uploads in this process too (default: with an SQLite store; a PostgreSQL "
                       "store leaves them to 'disval worker's) or not (--no-worker: another process drains the queue)")
    serve.add_argument("--base-url", default="", help="the portal's address as users reach it (for links in mail)")
    # Plugins add theirs (the built-in mail plugin its --smtp-* options), as any installed plugin may.
    get_plugin_manager().hook.disval_serve_options(parser=serve)
    serve.set_defaults(func=_serve)

    user = subparsers.add_parser("user", help="portal users and their roles per provider")
    actions = user.add_subparsers(title="actions", metavar="ACTION")
    add = actions.add_parser("add", parents=[store], help="create a user (the password is asked, or read from stdin)")
    add.add_argument("login")
    add.add_argument("--name", default="")
    add.add_argument("--email", default="")
    add.add_argument("--operator", action="store_true", help="the receiving side: sees every provider")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--role", choices=book.ROLES, help="a role for the provider given with --provider")
    add.add_argument("--provider", nargs=2, metavar=("AGB", "II"), help="the provider the role is for")
    add.set_defaults(func=_guarded(_user_add, creates=True))
    grant = actions.add_parser("grant", parents=[store], help="give a user a role for a provider")
    grant.add_argument("login")
    _provider(grant)
    grant.add_argument("--role", choices=book.ROLES, required=True)
    grant.set_defaults(func=_guarded(_user_grant))
    password = actions.add_parser("password", parents=[store], help="set a user's password")
    password.add_argument("login")
    password.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    password.set_defaults(func=_guarded(_user_password))
    for action, helptext in (("deactivate", "the user may no longer sign in"), ("activate", "the user may sign in again")):
        toggle = actions.add_parser(action, parents=[store], help=helptext)
        toggle.add_argument("login")
        toggle.set_defaults(func=_guarded(_user_active), active=action == "activate")
    listing = actions.add_parser("list", parents=[store], help="list the users and their roles")
    listing.set_defaults(func=_guarded(_user_list))
    user.set_defaults(func=lambda args: (user.print_help(sys.stderr), 2)[1])

    token = subparsers.add_parser("token", help="API tokens of a provider (for vendors' export jobs)")
    tactions = token.add_subparsers(title="actions", metavar="ACTION")
    create = tactions.add_parser("create", parents=[store], help="make a token; it is printed once")
    _provider(create)
    create.add_argument("--scope", default="upload,read", help="upload, read or both (default upload,read)")
    create.add_argument("--label", default="", help="what the token is for")
    create.set_defaults(func=_guarded(_token_create))
    revoke = tactions.add_parser("revoke", parents=[store], help="revoke a token by its number")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=_guarded(_token_revoke))
    tlist = tactions.add_parser("list", parents=[store], help="list a provider's tokens (never the tokens themselves)")
    _provider(tlist)
    tlist.set_defaults(func=_guarded(_token_list))
    token.set_defaults(func=lambda args: (token.print_help(sys.stderr), 2)[1])


def _provider(p) -> None:
    p.add_argument("agb", metavar="AGB", type=_digits("AGB code", 8), help="AGB code, 8 digits")
    p.add_argument("branch", metavar="II", type=_digits("instelling volgnr", 2), help="instelling volgnr, 2 digits")


def _serve(args) -> int:
    try:
        import uvicorn

        from .app import create_app
    except ImportError as exc:
        raise UsageError(f"disval serve needs the serve extra ({exc.name} is missing): pip install 'disval[serve]'")
    from ..store.delivery_store import default_store_url
    from .uploads import DEFAULT_MAX_UPLOAD

    # Plugins configure themselves from their options: the mail plugin returns its e-mail notifier (a plugin
    # object of this app, as the progress display is one of a validate run), or nothing without a host.
    pm = get_plugin_manager()
    extra = [plugin for made in pm.hook.disval_serve_configure(options=args) for plugin in made or ()]
    formats = [f.strip() for f in args.report_formats.split(",") if f.strip()] if args.report_formats else None
    url = args.store or default_store_url()
    worker = args.worker
    if worker is None:  # an embedded store is drained here; a PostgreSQL store with its job queue by workers
        worker = not _has_job_queue(url)
        if not worker:
            print("disval: uploads are queued for the 'disval worker's of this PostgreSQL store; this process "
                  "processes none (--worker to process here too)", file=sys.stderr, flush=True)
    try:
        app = create_app(url, pm=pm, secret_key=args.secret_key, worker=worker,
                         max_upload=args.max_upload_mb << 20 if args.max_upload_mb else DEFAULT_MAX_UPLOAD,
                         stall_after=args.stall_after, report_formats=formats, codelists=args.codelists,
                         policy=args.policy, require_real_codelists=args.require_real_codelists,
                         base_url=args.base_url, plugins=extra)
        print(f"disval: serving on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
        # uvicorn's access log shows method, path and status: never a header, so never a token.
        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    finally:
        close_plugins(extra)  # e.g. the e-mail queued goes out before the process ends
    return 0


def _has_job_queue(url: str) -> bool:
    """Whether the store at `url` drains through the job queue (PostgreSQL with procrastinate's tables)."""
    from ..store.delivery_store import open_store
    from ..workers.wakeups import uses_jobs

    with open_store(url) as store:
        return uses_jobs(store)


def _password(args) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.login}: ")
        if getpass.getpass("again: ") != password:
            raise UsageError("the passwords differ")
    if len(password) < 10:
        raise UsageError("a password has at least 10 characters")
    return password


def _user_add(args, store) -> int:
    from .accounts import hash_password

    try:
        u = book.add_user(store, args.login, args.name, args.email, hash_password(_password(args)),
                          operator=args.operator)
        if args.role or args.provider:
            if not (args.role and args.provider):
                raise UsageError("--role and --provider go together")
            book.grant(store, u.login, *args.provider, args.role)
    except book.AccountError as exc:
        raise UsageError(str(exc)) from None
    book.audit(store, "cli", "user added", u.login, "operator" if u.operator else "")
    print(f"added user {u.login}" + (" (operator)" if u.operator else ""))
    return 0


def _user_grant(args, store) -> int:
    try:
        m = book.grant(store, args.login, args.agb, args.branch, args.role)
    except book.AccountError as exc:
        raise UsageError(str(exc)) from None
    book.audit(store, "cli", "role granted", f"{m.agb} {m.branch}", f"{m.login}: {m.role}")
    print(f"{m.login} is {m.role.replace('_', ' ')} for {m.agb} {m.branch}")
    return 0


def _known_user(store, login: str):
    u = book.user(store, login)
    if u is None:
        raise UsageError(f"there is no user {login!r}")
    return u


def _user_password(args, store) -> int:
    from .accounts import hash_password

    u = _known_user(store, args.login)
    book.set_password_hash(store, u.login, hash_password(_password(args)))
    book.audit(store, "cli", "password set", u.login)
    print(f"set the password of {u.login}")
    return 0


def _user_active(args, store) -> int:
    u = _known_user(store, args.login)
    book.set_user_active(store, u.login, args.active)
    book.audit(store, "cli", "user activated" if args.active else "user deactivated", u.login)
    print(f"{u.login} {'may' if args.active else 'may no longer'} sign in")
    return 0


def _user_list(args, store) -> int:
    for u in book.users(store):
        roles = ", ".join(f"{m.agb} {m.branch} {m.role}" for m in book.memberships(store, u.login))
        flags = " operator" if u.operator else ""
        print(f"{u.login}{flags}{'' if u.active else ' (inactive)'}: {roles or 'no roles'}")
    return 0


def _token_create(args, store) -> int:
    from .accounts import create_token

    scopes = [s.strip() for s in args.scope.split(",") if s.strip()]
    try:
        token, kept = create_token(store, args.agb, args.branch, scopes, args.label, "cli")
    except book.AccountError as exc:
        raise UsageError(str(exc)) from None
    print(f"token #{kept.id} for {args.agb} {args.branch}, scopes {','.join(kept.scopes)} (shown once, kept hashed):",
          file=sys.stderr)
    print(token)
    return 0


def _token_revoke(args, store) -> int:
    t = book.revoke_token(store, args.id)
    if t is None:
        raise UsageError(f"there is no token #{args.id}")
    book.audit(store, "cli", "token revoked", f"{t.agb} {t.branch}", f"token #{t.id} ({t.hint}...)")
    print(f"revoked token #{t.id} of {t.agb} {t.branch}")
    return 0


def _token_list(args, store) -> int:
    for t in book.tokens(store, args.agb, args.branch):
        state = "active" if t.active else f"revoked {t.revoked_at:%Y-%m-%d}"
        print(f"#{t.id} {t.hint}... {','.join(t.scopes)} {t.label!r} {state}")
    return 0
