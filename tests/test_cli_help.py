"""`--help` of every command, and argparse's own errors, in French by default, English with
`--lang en` (or `language = "en"` in config.toml)."""

from __future__ import annotations

import re

import pytest

from cli.main import build_parser, main

# English a French help must not show (argparse's own words first), and the reverse; not
# "file" nor "show": option and action names (--directory-file, config show) stay.
ENGLISH = [
    "usage:", "positional arguments", "show this help", "the", "and", "of", "to", "with",
    "write", "exit", "do not", "common options", "PATH", "FILE", "COMMAND", "identifiers",
    "QUERY", "ACCOUNT", "required", "invalid choice", "unrecognized",
]  # fmt: skip
FRENCH = [
    "usage :", "afficher", "sortir", "le", "la", "les", "des", "du", "et", "une", "fichier",
    "écrire", "options communes", "CHEMIN", "FICHIER", "COMMANDE", "obligatoires", "inconnus",
    "invalide",
]  # fmt: skip


def commands() -> list[list[str]]:
    """Every command line that has a --help: the commands, `config`'s actions, the wizard."""
    _parser, handlers = build_parser()
    found = [[name] for name in handlers if name != "config"]
    found += [["config"], ["config", "check"], ["config", "show"]]
    # `idpronote --no-mouse --help`: the wizard's own parser.
    return [[], ["--no-mouse"], *found]


def foreign(text: str, words: list[str]) -> list[str]:
    return [
        f"{word!r} in {line.strip()!r}"
        for word in words
        for line in text.splitlines()
        if re.search(r"(?<![\w'])" + re.escape(word) + r"(?![\w])", line)
    ]


def help_of(command: list[str], lang: str | None, capsys) -> str:
    argv = [*command, "--help"] + (["--lang", lang] if lang else [])
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


@pytest.fixture(autouse=True)
def no_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def test_every_help_is_french_by_default(capsys):
    problems = []
    for command in commands():
        text = help_of(command, None, capsys)
        assert text.startswith("usage : idpronote")
        problems += [f"{' '.join(command) or 'idpronote'}: {p}" for p in foreign(text, ENGLISH)]
    assert not problems, "\n".join(problems)


def test_every_help_is_english_with_lang_en(capsys):
    problems = []
    for command in commands():
        text = help_of(command, "en", capsys)
        assert text.startswith("usage: idpronote")
        problems += [f"{' '.join(command) or 'idpronote'}: {p}" for p in foreign(text, FRENCH)]
    assert not problems, "\n".join(problems)


def test_the_command_list_and_undo_help_say_what_they_do(capsys):
    listing = help_of([], None, capsys)
    assert "undo" in listing and "annuler ce qu'une session d'import a écrit" in listing
    undo = help_of(["undo"], None, capsys)
    assert "annuler ce qu'une session d'import a écrit" in undo
    assert "ne pas demander de confirmation" in undo
    assert "afficher cette aide et sortir" in undo


def test_the_configured_language_gives_the_help_its_language(tmp_path, capsys):
    (tmp_path / "config.toml").write_text('language = "en"\n', encoding="utf-8")
    text = help_of(["undo", "--config", str(tmp_path / "config.toml")], None, capsys)
    assert text.startswith("usage: idpronote undo")
    assert "revert what one import session wrote" in text


@pytest.mark.parametrize(
    ("argv", "french", "english"),
    [
        (["undo"], "arguments obligatoires manquants : SESSION", "arguments are required"),
        (
            ["match", "f.xml", "--mode", "tout"],
            "argument --mode : choix invalide : 'tout' (au choix : 'complet', 'partiel')",
            "invalid choice",
        ),
        (["undo", "a", "b"], "arguments inconnus : b", "unrecognized"),
        (["search", "x", "--limit", "beaucoup"], "valeur invalide : 'beaucoup'", "invalid int"),
        (["search", "x", "--limit"], "argument --limit : une valeur attendue", "expected one"),
        (["inspect", "f.xml", "--uai", "12"], "UAI '12' invalide", "invalid UAI"),
    ],
)
def test_usage_errors_are_one_line_in_the_language(argv, french, english, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert french in err and english not in err and err.count("\n") == 1
    with pytest.raises(SystemExit):
        main([*argv, "--lang", "en"])
    err = capsys.readouterr().err
    assert english in err and french not in err
