"""Where the mail settings come from (options over environment) and which ones are refused before serving."""
from __future__ import annotations

import argparse

import pytest

from disval.core.errors import UsageError
from disval.plugins.mail import add_mail_options, settings_from


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_mail_options(parser)
    parser.add_argument("--base-url", default="")  # disval serve's own option, which the mail links use
    return parser.parse_args(list(argv))


def test_no_host_means_no_mail():
    assert not settings_from(_args(), environ={}).enabled


def test_an_option_wins_over_the_environment():
    env = {"DISVAL_SMTP_HOST": "mail.env.example", "DISVAL_SMTP_PORT": "2525", "DISVAL_SMTP_FROM": "env@x.example"}
    s = settings_from(_args("--smtp-host", "mail.opt.example"), environ=env)
    assert (s.host, s.port, s.sender, s.security) == ("mail.opt.example", 2525, "env@x.example", "none")


@pytest.mark.parametrize("argv, port, security", [
    (["--smtp-port", "465"], 465, "ssl"),
    (["--smtp-port", "587"], 587, "starttls"),
    (["--smtp-security", "starttls"], 587, "starttls"),
    (["--smtp-security", "ssl"], 465, "ssl"),
    ([], 25, "none"),
])
def test_the_port_and_the_security_follow_from_each_other(argv, port, security):
    s = settings_from(_args("--smtp-host", "mail.example", *argv), environ={})
    assert (s.port, s.security) == (port, security)


def test_the_password_comes_from_the_environment_or_a_file_and_is_never_shown(tmp_path):
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret-from-file\n", encoding="utf-8")
    s = settings_from(_args("--smtp-host", "mail.example", "--smtp-security", "starttls", "--smtp-user", "portal",
                            "--smtp-password-file", str(secret)), environ={"DISVAL_SMTP_PASSWORD": "from-env"})
    assert s.password == "s3cret-from-file"
    assert "s3cret" not in repr(s)
    s = settings_from(_args("--smtp-host", "mail.example", "--smtp-port", "587"),
                      environ={"DISVAL_SMTP_USER": "portal", "DISVAL_SMTP_PASSWORD": "from-env"})
    assert (s.user, s.password) == ("portal", "from-env") and "from-env" not in repr(s)


def test_a_password_is_not_sent_in_the_clear_to_another_machine():
    with pytest.raises(UsageError, match="refusing to log in to mail.example without encryption"):
        settings_from(_args("--smtp-host", "mail.example", "--smtp-user", "portal"), environ={})
    local = settings_from(_args("--smtp-host", "127.0.0.1", "--smtp-user", "portal"), environ={})
    assert local.security == "none"  # a relay on this machine: nothing crosses a network


@pytest.mark.parametrize("env, message", [
    ({"DISVAL_SMTP_PORT": "smtp"}, "SMTP port 'smtp' is not a number"),
    ({"DISVAL_SMTP_PORT": "70000"}, "SMTP port 70000 is out of range"),
    ({"DISVAL_SMTP_SECURITY": "tls"}, "SMTP security 'tls' is not one of none, starttls, ssl"),
    ({"DISVAL_SMTP_PASSWORD_FILE": "/nonexistent/pw"}, "cannot read the SMTP password file /nonexistent/pw"),
    ({"DISVAL_MAIL_LANG": "de"}, "mail language 'de' is not nl or en"),
])
def test_a_setting_that_cannot_work_is_refused_with_the_reason(env, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        settings_from(_args(), environ={"DISVAL_SMTP_HOST": "127.0.0.1", **env})


def test_links_are_made_from_the_public_url():
    s = settings_from(_args("--base-url", "https://portal.example/dis/"), environ={})
    assert s.link("/deliveries/3") == "https://portal.example/dis/deliveries/3"
    assert settings_from(_args(), environ={}, default_url="http://127.0.0.1:9000").link("/x") == "http://127.0.0.1:9000/x"


def test_a_server_on_every_interface_is_linked_by_the_machines_name_not_by_0_0_0_0():
    import socket

    from disval.plugins.mail import listening_url

    name = socket.getfqdn()
    assert listening_url("0.0.0.0", 8000) == listening_url("::", 8000) == f"http://{name}:8000"
    assert listening_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert listening_url("::1", 8000) == "http://[::1]:8000"
    assert listening_url(None, None) is None  # a worker listens nowhere: links only with --base-url


def test_disval_serve_refuses_mail_settings_that_cannot_work_before_it_serves(tmp_path, monkeypatch, capsys):
    from disval.core.cli import main

    config = tmp_path / "disval.toml"
    config.write_text('[serve]\nsmtp-host = "mail.example"\nsmtp-security = "starttls"\n'
                      'smtp-password-file = "secrets/smtp"\n', encoding="utf-8")
    monkeypatch.setenv("DISVAL_CONFIG", str(config))
    store = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["serve", "--store", store, "--port", "1"]) == 2
    # the file's relative path is taken from the configuration file's folder
    assert capsys.readouterr().err == (f"disval: cannot read the SMTP password file {tmp_path / 'secrets/smtp'}: "
                                       "No such file or directory\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "smtp").write_text("pw\n", encoding="utf-8")
    assert main(["serve", "--store", store, "--smtp-security", "none", "--smtp-user", "portal", "--port", "1"]) == 2
    assert "refusing to log in to mail.example without encryption" in capsys.readouterr().err
