"""The ``outreach`` command, run as a user runs it: a subprocess against the test database."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys

from outreach.models import ApiToken, Role, RoleName, StaffUser
from outreach.security import hash_token, verify_password
from tests.factories import make_library, make_strategy


async def outreach(database_url: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from outreach.cli import main; main()",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await process.communicate(stdin.encode())
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_users_add_and_token_create(db: str) -> None:
    await make_library("maribor")
    code, out, err = await outreach(
        db,
        "users",
        "add",
        "urska@maribor.example",
        "--name",
        "Urška",
        "--role",
        "editor:maribor",
        "--password-stdin",
        "--lang",
        "sl",
        stdin="knjiznica-2026\n",
    )
    assert (code, out, err) == (
        0,
        "ustvarjen uporabnik urska@maribor.example z vlogami: editor:maribor\n",
        "",
    )
    user = await StaffUser.get(email="urska@maribor.example")
    assert user.name == "Urška"
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "knjiznica-2026")
    role = await Role.get(user=user).prefetch_related("library")
    assert role.role is RoleName.EDITOR
    assert role.library is not None
    assert role.library.slug == "maribor"

    code, out, err = await outreach(
        db, "tokens", "create", "urska@maribor.example", "--name", "import", "--lang", "mk"
    )
    assert code == 0
    # The secret alone on standard output, for a script; the words for the person beside it.
    secret = out.removesuffix("\n")
    assert secret.startswith("otk_")
    assert len(secret) > 40
    assert err == (
        "API-токенот 'import' за urska@maribor.example е прикажан само сега: зачувајте го"
        " веднаш. Користете го како 'Authorization: Bearer <token>'.\n"
    )
    token = await ApiToken.get(user=user)
    assert token.token_hash == hash_token(secret)
    assert secret not in token.token_hash
    assert token.prefix == secret[:10]


async def test_users_add_refuses_bad_input_and_writes_nothing(db: str) -> None:
    await make_library("maribor")
    cases = [
        (["--role", "boss:maribor"], "unknown role 'boss'"),
        (["--role", "editor"], "write ROLE:SLUG"),
        (["--role", "editor:nowhere"], "no library with slug 'nowhere'"),
        (["--role", "coordinator:nowhere"], "no network with slug 'nowhere'"),
    ]
    for extra, message in cases:
        code, _out, err = await outreach(
            db,
            "users",
            "add",
            "x@example.org",
            "--name",
            "X",
            *extra,
            "--password-stdin",
            stdin="long-enough-password\n",
        )
        assert code == 2, extra
        assert message in err, (extra, err)
    code, _, err = await outreach(
        db, "users", "add", "x@example.org", "--name", "X", "--password-stdin", stdin="short\n"
    )
    assert code == 2
    assert "at least 10 characters" in err
    assert await StaffUser.all().count() == 0


async def test_report_coverage_writes_csv_and_refuses_a_backwards_period(db: str) -> None:
    library = await make_library("kranj")
    await make_strategy(library=library, slug="kranj-2021")
    code, out, err = await outreach(
        db,
        "report",
        "coverage",
        "--library",
        "kranj",
        "--from",
        "2022-01-01",
        "--to",
        "2022-12-31",
        "--format",
        "csv",
    )
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("kind,code,theme,name_fi,name_en,events,delivered,cancelled,")
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["value", "rohkeus"],
        ["theme", "A"],
        ["goal", "A1"],
        ["outreach", "bookmobile"],
        ["outreach", "total"],
        ["library", "kranj"],
        ["co_organised", "kranj"],
    ]
    code, out, err = await outreach(
        db,
        "report",
        "coverage",
        "--library",
        "kranj",
        "--from",
        "2022-12-31",
        "--to",
        "2022-01-01",
    )
    # In the library's default language.
    assert (code, out) == (2, "")
    assert err == "outreach: --to: obdobje se konča, preden se začne\n"


async def test_tokens_revoke_takes_any_unambiguous_prefix(db: str) -> None:
    user = await StaffUser.create(email="ana@mkl.si", name="Ana", password_hash="-")
    secrets = {
        "nightly": "otk_abc123" + "n" * 37,
        "import": "otk_abd456" + "i" * 37,
        "old": "otk_zzz999" + "o" * 37,
    }
    for name, secret in secrets.items():
        await ApiToken.create(
            user=user, name=name, prefix=secret[:10], token_hash=hash_token(secret)
        )
    await ApiToken.filter(name="old").update(revoked_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    refusals = [
        (
            "otk_ab",
            "sl",
            "predpona žetona 'otk_ab' ni enoznačna: z njo se začneta 2 veljavna žetona"
            " (otk_abc123, otk_abd456); vpišite več znakov ali ves žeton",
        ),
        ("otk_q", "mk", "префиксот на токенот 'otk_q' не одговара на ниту еден токен"),
        ("otk_zzz", "en", "token prefix 'otk_zzz' is revoked already"),
        (
            "otk_abc123nnn",
            "en",
            "token prefix 'otk_abc123nnn' is unknown: give at most its first 10 characters"
            " or the whole token",
        ),
        (
            "abc123",
            "en",
            "'abc123' is not a token prefix: tokens begin 'otk_' and one or more characters"
            " of the token, e.g. otk_Ab3",
        ),
    ]
    for prefix, lang, message in refusals:
        assert await outreach(db, "tokens", "revoke", prefix, "--lang", lang) == (
            2,
            "",
            f"outreach: {message}\n",
        )
    assert await ApiToken.filter(revoked_at__isnull=True).count() == 2

    assert await outreach(db, "tokens", "revoke", "otk_abc", "--lang", "sl") == (
        0,
        "preklican žeton otk_abc123 ('nightly' uporabnika ana@mkl.si)\n",
        "",
    )
    assert await outreach(db, "tokens", "revoke", secrets["import"]) == (
        0,
        "revoked token otk_abd456 ('import' of ana@mkl.si)\n",
        "",
    )
    assert await ApiToken.filter(revoked_at__isnull=True).count() == 0
