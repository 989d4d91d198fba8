"""`disval serve` takes its plugins' options and configures them through hooks (disval_serve_options,
disval_serve_configure): an installed plugin gets what the built-in mail plugin gets, and nothing more."""
from __future__ import annotations

import uvicorn
from starlette.testclient import TestClient

from disval.core.cli import main
from disval.core.errors import UsageError
from disval.core.plugins import get_plugin_manager, hookimpl
from disval.core.portal import commands


class Acme:
    """A third party's plugin: a greeting option, and an object on the portal made from it."""

    def __init__(self):
        self.made: list[Greeter] = []

    @hookimpl
    def disval_serve_options(self, parser):
        group = parser.add_argument_group("acme", "Acme's greetings")
        group.add_argument("--acme-greeting", metavar="TEXT", help="what Acme says to every delivery")

    @hookimpl
    def disval_serve_configure(self, options):
        if options.acme_greeting is None:
            return []
        if not options.acme_greeting.strip():
            raise UsageError("--acme-greeting may not be blank")
        self.made.append(Greeter(options.acme_greeting))
        return self.made[-1:]


class Greeter:
    def __init__(self, text):
        self.text, self.events, self.closed = text, [], False

    @hookimpl
    def disval_delivery_event(self, event, delivery, store):
        self.events.append(event)

    def close(self):
        self.closed = True


def _serve(monkeypatch, tmp_path, *args, plugin=None):
    """Run `disval serve` up to where it serves; returns (exit code, the app's plugin manager or None)."""
    monkeypatch.setattr(commands, "get_plugin_manager",
                        lambda: get_plugin_manager(extra=(plugin,) if plugin else (), load_entry_points=False))
    served = {}

    def run(app, **kw):  # instead of uvicorn's loop: start the app (its lifespan), look, stop it
        with TestClient(app):
            served["pm"] = app.state.portal.pm

    monkeypatch.setattr(uvicorn, "run", run)
    code = main(["serve", "--store", f"sqlite:///{tmp_path / 'store.db'}", "--no-worker", "--secret-key", "k" * 40,
                 *args])
    return code, served.get("pm")


def test_an_installed_plugin_s_option_shows_in_the_help(monkeypatch, capsys):
    acme = Acme()
    monkeypatch.setattr(commands, "get_plugin_manager", lambda: get_plugin_manager(extra=(acme,),
                                                                                   load_entry_points=False))
    try:
        main(["serve", "--help"])
    except SystemExit:
        pass
    out = capsys.readouterr().out
    assert "Acme's greetings" in out and "--acme-greeting TEXT" in out
    assert "--smtp-host" in out  # the built-in mail plugin's, by the same hook


def test_the_object_a_plugin_makes_from_its_option_is_on_the_portal_and_closed_at_the_end(monkeypatch, tmp_path):
    acme = Acme()
    code, pm = _serve(monkeypatch, tmp_path, "--acme-greeting", "hallo", plugin=acme)
    assert code == 0
    [greeter] = acme.made
    assert greeter.text == "hallo" and pm.is_registered(greeter)
    assert greeter in [impl.plugin for impl in pm.hook.disval_delivery_event.get_hookimpls()]
    assert greeter.closed, "what a plugin object holds is let go when the server stops"


def test_a_plugin_s_option_is_read_from_the_configuration_file(monkeypatch, tmp_path):
    (tmp_path / "disval.toml").write_text('[serve]\nacme-greeting = "goedemorgen"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    acme = Acme()
    assert _serve(monkeypatch, tmp_path, plugin=acme)[0] == 0
    assert [g.text for g in acme.made] == ["goedemorgen"]


def test_options_a_plugin_cannot_work_with_end_serve_with_its_message(monkeypatch, tmp_path, capsys):
    code, pm = _serve(monkeypatch, tmp_path, "--acme-greeting", "  ", plugin=Acme())
    err = capsys.readouterr().err
    assert code == 2 and pm is None
    assert "disval: --acme-greeting may not be blank" in err and "Traceback" not in err


def test_the_mail_plugin_makes_its_notifier_only_with_an_smtp_host(monkeypatch, tmp_path):
    from disval.plugins.mail import MailNotifier

    monkeypatch.delenv("DISVAL_SMTP_HOST", raising=False)
    code, pm = _serve(monkeypatch, tmp_path)
    assert code == 0 and not [p for p in pm.get_plugins() if isinstance(p, MailNotifier)]
    code, pm = _serve(monkeypatch, tmp_path, "--smtp-host", "127.0.0.1", "--smtp-port", "2525")
    [notifier] = [p for p in pm.get_plugins() if isinstance(p, MailNotifier)]
    assert code == 0 and notifier.settings.host == "127.0.0.1" and notifier.settings.port == 2525
    assert notifier.settings.link("/deliveries/1") == "http://127.0.0.1:8000/deliveries/1"  # links to where it serves


def test_bad_mail_options_end_serve_with_a_message(monkeypatch, tmp_path, capsys):
    code, pm = _serve(monkeypatch, tmp_path, "--smtp-host", "mail.example.org", "--smtp-user", "u")
    err = capsys.readouterr().err
    assert code == 2 and pm is None and "refusing to log in to mail.example.org without encryption" in err
