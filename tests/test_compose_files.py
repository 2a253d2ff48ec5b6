"""The deployment files, checked without Docker (our machines have no engine; docs/DEPLOYING.md says so).

The compose files are parsed with PyYAML and held to the rules of docs/DEPLOYING.md: pinned images, named
volumes, healthchecks, ports published on 127.0.0.1 only, every credential a required `${VAR:?...}` reference
to a variable listed in .env.example. A scanner looks for literal secrets in everything we ship. Both
checkers are also run on bad samples, so a test here fails when a rule is broken. scripts/setup_mongo.sh is
run against stand-ins for `docker` and `epochlog` that record how they were called.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml
from pymongo.uri_parser import parse_uri

ROOT = Path(__file__).resolve().parent.parent
MONGO_COMPOSE = ROOT / "docker" / "docker-compose.mongo.yml"
NOSQL_COMPOSE = ROOT / "docker" / "docker-compose.nosql.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SETUP_MONGO = ROOT / "scripts" / "setup_mongo.sh"

#: `${NAME:?message}`: compose refuses to start while NAME is unset or empty.
REQUIRED_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):\?(?P<message>[^}]+)\}")
#: Any interpolation compose would do: `$$` is a literal dollar, everything else starting with `$` is one.
INTERPOLATION = re.compile(r"\$\$|\$\{[^}]*\}?|\$[A-Za-z_][A-Za-z0-9_]*")
#: Environment keys whose values are credentials.
CREDENTIAL_KEY = re.compile(r"(USERNAME|USER|PASSWORD|PASSWD|PASS|SECRET|TOKEN|_AUTH)$", re.IGNORECASE)
#: Command-line flags whose next argument is a secret.
SECRET_FLAGS = ("--requirepass", "--password", "--pass", "-a")


def env_example() -> dict[str, str]:
    """The variables .env.example lists, with their (empty) values."""
    variables = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", line.strip())
        if match:
            variables[match[1]] = match[2]
    return variables


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), f"{path} is not a mapping"
    return document


# -- the compose checker ---------------------------------------------------------------------------------


def strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every string in a parsed YAML document (keys too), with a path saying where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key, f"{where} (key)")
            yield from strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{where}[{index}]")
    elif isinstance(value, str):
        yield where, value


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, written as a mapping or as a list of KEY=VALUE."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def is_reference(value: str) -> bool:
    """A required compose reference, or a variable the container's shell expands (`$$VAR`, `"$$VAR"`)."""
    value = value.strip("\"'")
    return bool(REQUIRED_REFERENCE.fullmatch(value)) or bool(re.fullmatch(r"\$\$\{?[A-Za-z_]\w*\}?", value))


def arguments(value: Any) -> list[str]:
    """A command, entrypoint or healthcheck test as its arguments, shell strings split into words too."""
    items = [value] if isinstance(value, str) else list(value or [])
    words: list[str] = []
    for item in items:
        item = str(item)
        words.append(item)
        if " " in item:
            try:
                words.extend(shlex.split(item))
            except ValueError:
                words.extend(item.split())
    return words


def port_problems(name: str, service: dict[str, Any]) -> list[str]:
    problems = []
    if service.get("network_mode") == "host":
        problems.append(f"{name}: network_mode host publishes every port on every interface")
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            if port.get("host_ip") != "127.0.0.1":
                problems.append(f"{name}: port {port} is not bound to 127.0.0.1")
        elif not str(port).startswith("127.0.0.1:"):
            problems.append(f"{name}: port {port!r} is not bound to 127.0.0.1")
    return problems


def credential_problems(name: str, service: dict[str, Any]) -> list[str]:
    problems = []
    for key, value in environment(service).items():
        if CREDENTIAL_KEY.search(key) and not is_reference(value):
            problems.append(f"{name}: {key} is not a ${{VAR:?...}} reference: {value!r}")
        masked = REQUIRED_REFERENCE.sub("REF", value)
        for user, password in re.findall(r"://([^/@\s]*):([^/@\s]*)@", masked):
            if user != "REF" or password != "REF":
                problems.append(f"{name}: {key} holds a URI with literal credentials")
    for field in ("command", "entrypoint"):
        problems += flag_problems(name, field, arguments(service.get(field)))
    problems += flag_problems(name, "healthcheck", arguments((service.get("healthcheck") or {}).get("test")))
    return problems


def flag_problems(name: str, field: str, words: list[str]) -> list[str]:
    return [f"{name}: {field} passes a literal after {word}"
            for word, following in pairwise(words)
            if word in SECRET_FLAGS and not is_reference(following)]


def interpolation_problems(document: dict[str, Any], allowed: set[str]) -> list[str]:
    problems = []
    for where, text in strings(document, "compose"):
        for match in INTERPOLATION.finditer(text):
            token = match[0]
            if token == "$$":
                continue
            reference = REQUIRED_REFERENCE.fullmatch(token)
            if not reference:
                problems.append(f"{where}: {token} is not a required ${{VAR:?...}} reference (no defaults)")
            elif reference["name"] not in allowed:
                problems.append(f"{where}: {reference['name']} is not listed in .env.example")
    return problems


def compose_problems(text: str, allowed: set[str]) -> list[str]:
    """What breaks the rules in a compose file: public ports, literal credentials, optional variables."""
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict):
        return ["not a compose file with services"]
    problems = interpolation_problems(document, allowed)
    for name, service in document["services"].items():
        problems += port_problems(name, service)
        problems += credential_problems(name, service)
    problems += literal_secrets(text, "compose.yml")
    return problems


# -- the literal-secret scanner --------------------------------------------------------------------------

#: Values that only stand for a secret: empty, a variable (`$X`, `${X:?...}`, `$(cmd)`), a <placeholder>,
#: `***` as in redacted log lines, or an ALL_CAPS name of an environment variable.
PLACEHOLDER = re.compile(r"|\$.*|<[^>]*>.*|\*+|\.\.\.|[A-Z][A-Z0-9_]*|\{.*")
SECRET_WORD = r"(?:password|passwd|pwd|secret|token|requirepass)"
#: KEY=value and KEY: value lines of env files, YAML, shell and the code blocks of Markdown, where the key
#: names a secret (ends with one of the words: MIN_PASSWORD_LENGTH is not a secret, ROOT_PASSWORD is).
CONFIG_LINE = re.compile(
    rf"^\s*(?:-\s+)?(?:export\s+)?[\"']?(?P<key>[\w.-]*{SECRET_WORD})[\"']?\s*[:=]\s*(?P<value>.*?)\s*$",
    re.IGNORECASE)
#: password="literal" in Python.
PYTHON_ASSIGNMENT = re.compile(rf"\b(?P<key>\w*{SECRET_WORD})\s*[:=]\s*(?P<quote>[\"'])(?P<value>[^\"'\n]*)(?P=quote)",
                               re.IGNORECASE)
#: user:password@ in any URI.
URI_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://(?P<user>[^\s:/@'\"`]*):(?P<password>[^\s/@'\"`]+)@",
                             re.IGNORECASE)
#: Flags followed by a secret on a command line.
FLAG_VALUE = re.compile(r"(?:--requirepass|--password|--pass)[\s=]+(?P<value>[^\s;|&)]+)")
KNOWN_DEFAULTS = re.compile(r"pass123|changeme|change-me", re.IGNORECASE)
#: Files whose KEY=value / KEY: value lines are configuration (scripts have no suffix).
CONFIG_SUFFIXES = {"", ".yml", ".yaml", ".env", ".example", ".sh", ".bash", ".toml", ".ini", ".cfg", ".conf"}


def literal_secrets(text: str, name: str) -> list[str]:
    """Lines of `text` (a file called `name`) that look like they hold a literal secret."""
    masked = REQUIRED_REFERENCE.sub("${REF}", text)
    suffix = Path(name).suffix
    in_code = False
    found = []
    for number, line in enumerate(masked.splitlines(), 1):
        where = f"{name}:{number}"
        if KNOWN_DEFAULTS.search(line):
            found.append(f"{where}: a well-known default password")
        for match in URI_CREDENTIALS.finditer(line):
            if not PLACEHOLDER.fullmatch(match["password"]):
                found.append(f"{where}: credentials written into a URI")
        for match in FLAG_VALUE.finditer(line):
            if not PLACEHOLDER.fullmatch(match["value"].strip("\"'")):
                found.append(f"{where}: a literal secret on a command line")
        if suffix == ".py":
            for match in PYTHON_ASSIGNMENT.finditer(line):
                if not PLACEHOLDER.fullmatch(match["value"]):
                    found.append(f"{where}: {match['key']} assigned a literal")
            continue
        if suffix == ".md":
            if line.lstrip().startswith("```"):
                in_code = not in_code
            if not in_code:
                continue
        elif suffix not in CONFIG_SUFFIXES:
            continue
        match = CONFIG_LINE.match(line)
        if match:
            value = re.sub(r"\s+#.*$", "", match["value"]).strip().strip("\"'")
            if not PLACEHOLDER.fullmatch(value):
                found.append(f"{where}: {match['key']} set to a literal")
    return found


def shipped_files() -> Iterator[Path]:
    """Everything we ship that could carry a secret: docker/, scripts/, .env.example, src/, docs/, *.md."""
    yield ENV_EXAMPLE
    yield from sorted(ROOT.glob("*.md"))
    for top in ("docker", "scripts", "src", "docs"):
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if path.is_relative_to(ROOT / "src" / "epochlog" / "web" / "static"):
                continue  # vendored third-party assets (scripts/vendor-assets), minified
            if path.suffix in {".pyc", ".png", ".ico", ".woff", ".woff2", ".db", ".sqlite"}:
                continue
            yield path


# -- the real files --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mongo() -> dict[str, Any]:
    return load(MONGO_COMPOSE)


@pytest.fixture(scope="module")
def nosql() -> dict[str, Any]:
    return load(NOSQL_COMPOSE)


@pytest.mark.parametrize("path", [MONGO_COMPOSE, NOSQL_COMPOSE], ids=["mongo", "nosql"])
def test_compose_files_follow_the_rules(path: Path) -> None:
    assert compose_problems(path.read_text(), set(env_example())) == []


def test_the_services_and_images(mongo: dict[str, Any], nosql: dict[str, Any]) -> None:
    assert set(mongo["services"]) == {"mongodb", "mongo-express"}
    assert set(nosql["services"]) == {"mongodb", "mongo-express", "redis"}
    for document in (mongo, nosql):
        assert document["name"] == "epochlog"  # one project: switching files keeps the volumes
        assert document["services"]["mongodb"]["image"] == "mongo:7.0"
        assert re.fullmatch(r"mongo-express:\d+\.\d+\.\d+", document["services"]["mongo-express"]["image"])
    assert nosql["services"]["redis"]["image"] == "redis:7"


def test_nosql_repeats_the_mongo_services_exactly(mongo: dict[str, Any], nosql: dict[str, Any]) -> None:
    for name in mongo["services"]:
        assert nosql["services"][name] == mongo["services"][name], f"{name} differs between the two files"
    assert set(mongo["volumes"]) <= set(nosql["volumes"])


def named_volumes(document: dict[str, Any], service: str) -> dict[str, str]:
    """{mount point: volume name} of a service's named volumes (bind mounts are left out)."""
    declared = set(document.get("volumes") or {})
    mounts = {}
    for volume in document["services"][service].get("volumes") or []:
        if isinstance(volume, dict):
            source, target = volume.get("source", ""), volume.get("target", "")
        else:
            source, target = ([*str(volume).split(":"), ""])[:2]
        if source in declared:
            mounts[target] = source
    return mounts


def test_data_lives_in_named_volumes(mongo: dict[str, Any], nosql: dict[str, Any]) -> None:
    for document in (mongo, nosql):
        assert named_volumes(document, "mongodb")["/data/db"] == "mongodb-data"
    assert named_volumes(nosql, "redis")["/data"] == "redis-data"
    redis_command = arguments(nosql["services"]["redis"]["command"])
    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"


def test_every_service_has_a_healthcheck(mongo: dict[str, Any], nosql: dict[str, Any]) -> None:
    for document in (mongo, nosql):
        for name, service in document["services"].items():
            healthcheck = service.get("healthcheck") or {}
            assert healthcheck.get("test") and not healthcheck.get("disable"), f"{name} has no healthcheck"
        test = " ".join(document["services"]["mongodb"]["healthcheck"]["test"])
        assert "mongosh" in test and "ping" in test
        assert document["services"]["mongo-express"]["depends_on"]["mongodb"]["condition"] == "service_healthy"
    test = " ".join(nosql["services"]["redis"]["healthcheck"]["test"])
    assert "redis-cli" in test and "ping" in test
    assert is_reference(environment(nosql["services"]["redis"])["REDISCLI_AUTH"])


def test_ports_are_local_and_mongo_express_is_on_8082(mongo: dict[str, Any], nosql: dict[str, Any]) -> None:
    for document in (mongo, nosql):
        services = document["services"]
        assert services["mongo-express"]["ports"] == ["127.0.0.1:8082:8081"]
        assert services["mongodb"]["ports"] == ["127.0.0.1:27017:27017"]
    assert nosql["services"]["redis"]["ports"] == ["127.0.0.1:6379:6379"]


def test_credentials_come_from_env(mongo: dict[str, Any], nosql: dict[str, Any]) -> None:
    def variable(value: str) -> str:
        match = REQUIRED_REFERENCE.fullmatch(value)
        assert match, f"{value!r} is not a required reference"
        return match["name"]

    for document in (mongo, nosql):
        mongodb = environment(document["services"]["mongodb"])
        assert variable(mongodb["MONGO_INITDB_ROOT_USERNAME"]) == "MONGO_ROOT_USERNAME"
        assert variable(mongodb["MONGO_INITDB_ROOT_PASSWORD"]) == "MONGO_ROOT_PASSWORD"
        express = environment(document["services"]["mongo-express"])
        assert express["ME_CONFIG_BASICAUTH"] == "true"
        assert variable(express["ME_CONFIG_BASICAUTH_USERNAME"]) == "MONGO_EXPRESS_USERNAME"
        assert variable(express["ME_CONFIG_BASICAUTH_PASSWORD"]) == "MONGO_EXPRESS_PASSWORD"
    command = arguments(nosql["services"]["redis"]["command"])
    assert variable(command[command.index("--requirepass") + 1]) == "REDIS_PASSWORD"


def test_env_example_lists_every_variable_with_no_value(mongo: dict[str, Any], nosql: dict[str, Any]) -> None:
    listed = env_example()
    assert {name: value for name, value in listed.items() if value} == {}, "values in .env.example act as defaults"
    referenced = {match["name"] for document in (mongo, nosql) for _, text in strings(document, "compose")
                  for match in REQUIRED_REFERENCE.finditer(text)}
    script = SETUP_MONGO.read_text()
    used = referenced | {name for name in listed if name in script}
    assert referenced <= set(listed)
    assert set(listed) == used, f"listed but never used: {set(listed) - used}"
    assert "openssl rand" in ENV_EXAMPLE.read_text()
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def test_nothing_we_ship_holds_a_literal_secret() -> None:
    found = []
    for path in shipped_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        found += literal_secrets(text, str(path.relative_to(ROOT)))
    assert found == []


# -- the checkers fail on bad input ----------------------------------------------------------------------

GOOD_COMPOSE = """
services:
  mongodb:
    image: mongo:7.0
    environment:
      MONGO_INITDB_ROOT_USERNAME: ${MONGO_ROOT_USERNAME:?set it in .env}
      MONGO_INITDB_ROOT_PASSWORD: ${MONGO_ROOT_PASSWORD:?set it in .env}
    ports: ["127.0.0.1:27017:27017"]
  redis:
    image: redis:7
    command: ["redis-server", "--requirepass", "${REDIS_PASSWORD:?set it in .env}"]
    healthcheck:
      test: ["CMD-SHELL", "redis-cli ping | grep -q PONG"]
"""
ALLOWED = {"MONGO_ROOT_USERNAME", "MONGO_ROOT_PASSWORD", "REDIS_PASSWORD"}


def test_the_compose_checker_passes_a_good_file() -> None:
    assert compose_problems(GOOD_COMPOSE, ALLOWED) == []


@pytest.mark.parametrize(("old", "new", "problem"), [
    ('"127.0.0.1:27017:27017"', '"27017:27017"', "not bound to 127.0.0.1"),
    ('"127.0.0.1:27017:27017"', '"0.0.0.0:27017:27017"', "not bound to 127.0.0.1"),
    ('["127.0.0.1:27017:27017"]', "[{target: 27017, published: 27017}]", "not bound to 127.0.0.1"),
    ("image: mongo:7.0", "image: mongo:7.0\n    network_mode: host", "network_mode host"),
    ("${MONGO_ROOT_PASSWORD:?set it in .env}", "pass123", "well-known default"),
    ("${MONGO_ROOT_PASSWORD:?set it in .env}", "s3cr3t-literal", "MONGO_INITDB_ROOT_PASSWORD is not a"),
    ("${MONGO_ROOT_PASSWORD:?set it in .env}", "${MONGO_ROOT_PASSWORD:-hunter2}", "no defaults"),
    ("${MONGO_ROOT_PASSWORD:?set it in .env}", "${MONGO_ROOT_PASSWORD}", "no defaults"),
    ("${MONGO_ROOT_PASSWORD:?set it in .env}", "$MONGO_ROOT_PASSWORD", "no defaults"),
    ("${MONGO_ROOT_PASSWORD:?set it in .env}", "${NOT_LISTED:?set it}", "NOT_LISTED is not listed"),
    ('"${REDIS_PASSWORD:?set it in .env}"]', '"hunter2"]', "literal after --requirepass"),
    ('["redis-server", "--requirepass", "${REDIS_PASSWORD:?set it in .env}"]',
     '["sh", "-c", "redis-server --requirepass hunter2"]', "literal after --requirepass"),
    ('redis-cli ping', 'redis-cli -a hunter2 ping', "healthcheck passes a literal after -a"),
    ("    ports: [\"127.0.0.1:27017:27017\"]",
     "      ME_CONFIG_MONGODB_URL: mongodb://admin:hunter2@mongodb:27017/\n    ports: [\"127.0.0.1:27017:27017\"]",
     "URI with literal credentials"),
])
def test_the_compose_checker_flags(old: str, new: str, problem: str) -> None:
    assert old in GOOD_COMPOSE
    problems = compose_problems(GOOD_COMPOSE.replace(old, new, 1), ALLOWED)
    assert any(problem in item for item in problems), problems


@pytest.mark.parametrize(("name", "line"), [
    ("docker/compose.yml", "      MONGO_INITDB_ROOT_PASSWORD: hunter2"),
    ("docker/compose.yml", "      - MONGO_INITDB_ROOT_PASSWORD=hunter2"),
    (".env.example", "REDIS_PASSWORD=hunter2"),
    (".env.example", "MONGO_EXPRESS_COOKIE_SECRET='abc def'"),
    ("scripts/setup.sh", "export EPOCHLOG_DB_PASSWORD=hunter2"),
    ("scripts/setup.sh", "redis-server --requirepass hunter2"),
    ("src/epochlog/x.py", 'client = MongoClient(host, password="hunter2")'),
    ("src/epochlog/x.py", "DEFAULT_SECRET = 'hunter2'"),
    ("src/epochlog/x.py", 'URI = "mongodb://admin:hunter2@localhost:27017/"'),
    ("docs/X.md", "the seed used pass123"),
    ("docs/X.md", "export EPOCHLOG_URI=mongodb://app:hunter2@127.0.0.1:27017/eeg2025"),
    ("docs/X.md", "redis://:hunter2@127.0.0.1:6379/0"),
])
def test_the_secret_scanner_flags(name: str, line: str) -> None:
    text = f"```sh\n{line}\n```\n" if name.endswith(".md") else line + "\n"
    assert literal_secrets(text, name), f"{line!r} was not flagged"


@pytest.mark.parametrize(("name", "line"), [
    ("docker/compose.yml", "      MONGO_INITDB_ROOT_PASSWORD: ${MONGO_ROOT_PASSWORD:?set it in .env}"),
    (".env.example", "REDIS_PASSWORD="),
    ("scripts/setup.sh", 'password=$(printf "%s" "$EPOCHLOG_DB_PASSWORD" | quote)'),
    ("scripts/setup.sh", 'redis-server --requirepass "$REDIS_PASSWORD"'),
    ("src/epochlog/x.py", "TOKEN_ENV = \"EPOCHLOG_UI_TOKEN\""),
    ("src/epochlog/x.py", "def serve(uri: str, token: str | None = None) -> None:"),
    ("src/epochlog/x.py", 'return f"{scheme}://{credentials.split(\':\', 1)[0]}:***@{host}"'),
    ("docs/X.md", "export EPOCHLOG_URI='mongodb://epochlog:<password>@127.0.0.1:27017/eeg2025?authSource=eeg2025'"),
    ("docs/X.md", "EPOCHLOG_DB_PASSWORD=$(openssl rand -hex 24)"),
    ("docs/X.md", "redis://:<REDIS_PASSWORD>@127.0.0.1:6379/0"),
])
def test_the_secret_scanner_passes(name: str, line: str) -> None:
    text = f"```sh\n{line}\n```\n" if name.endswith(".md") else line + "\n"
    assert literal_secrets(text, name) == []


# -- scripts/setup_mongo.sh, against stand-ins -----------------------------------------------------------

STAND_IN = """#!{python}
import json, os, sys
tool = os.path.basename(sys.argv[0])
with open(os.environ["STAND_IN_LOG"], "a") as log:
    log.write(json.dumps({{"tool": tool, "argv": sys.argv[1:],
                          "env": {{name: os.environ.get(name) for name in {names!r}}}}}) + "\\n")
if tool == "docker" and "ping" in " ".join(sys.argv) and os.environ.get("STAND_IN_DOWN"):
    sys.exit("MongoServerSelectionError: connect ECONNREFUSED 127.0.0.1:27017")
if tool == "docker" and "--eval" in sys.argv and "ping" not in sys.argv[-1]:
    print("created user")
if tool == "epochlog":  # as `epochlog init` does: it prints the URI it was given
    print("Store ready, indexes in place: " + os.environ.get("EPOCHLOG_URI", ""))
"""
SECRETS = ("MONGO_ROOT_USERNAME", "MONGO_ROOT_PASSWORD", "EPOCHLOG_DB_USER", "EPOCHLOG_DB_PASSWORD")


@pytest.fixture
def stand_ins(tmp_path: Path) -> Path:
    """A directory with `docker` and `epochlog` stand-ins that log each call to STAND_IN_LOG."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("docker", "epochlog"):
        path = bin_dir / tool
        path.write_text(STAND_IN.format(python=sys.executable, names=(*SECRETS, "EPOCHLOG_DB_NAME", "EPOCHLOG_URI")))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def run_setup(stand_ins: Path, env_file: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[Any]]:
    log = stand_ins.parent / "calls.jsonl"
    log.unlink(missing_ok=True)
    base = {key: value for key, value in os.environ.items() if not key.startswith(("EPOCHLOG_", "MONGO_"))}
    result = subprocess.run(["bash", str(SETUP_MONGO)], capture_output=True, text=True, timeout=60,
                            env={**base, "PATH": f"{stand_ins}{os.pathsep}{base['PATH']}",
                                 "STAND_IN_LOG": str(log), "EPOCHLOG_ENV_FILE": str(env_file), **env})
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


ROOT_PASSWORD = "0123456789abcdef0123456789abcdef"
APP_PASSWORD = "a/b+c@d:e%f g-0123456789"  # every character a URI must escape


def write_env(tmp_path: Path, **values: str) -> Path:
    path = tmp_path / "test.env"
    path.write_text("# comment\n\n" + "".join(f"{key}={value}\n" for key, value in values.items()))
    return path


def test_setup_mongo_refuses_to_run_without_the_variables(tmp_path: Path, stand_ins: Path) -> None:
    result, calls = run_setup(stand_ins, write_env(tmp_path, MONGO_ROOT_USERNAME="root"))
    assert result.returncode != 0
    assert "refusing to run" in result.stderr and "openssl rand" in result.stderr
    for name in ("MONGO_ROOT_PASSWORD", "EPOCHLOG_DB_USER", "EPOCHLOG_DB_PASSWORD"):
        assert name in result.stderr
    assert "MONGO_ROOT_USERNAME" not in result.stderr.split("refusing to run")[1].split("not set")[0]
    assert calls == []


def test_setup_mongo_refuses_a_short_password(tmp_path: Path, stand_ins: Path) -> None:
    env_file = write_env(tmp_path, MONGO_ROOT_USERNAME="root", MONGO_ROOT_PASSWORD=ROOT_PASSWORD,
                         EPOCHLOG_DB_USER="epochlog", EPOCHLOG_DB_PASSWORD="short")
    result, calls = run_setup(stand_ins, env_file)
    assert result.returncode != 0 and "shorter than 16" in result.stderr
    assert calls == []


def test_setup_mongo_creates_the_user_then_the_indexes(tmp_path: Path, stand_ins: Path) -> None:
    env_file = write_env(tmp_path, MONGO_ROOT_USERNAME="root", MONGO_ROOT_PASSWORD=ROOT_PASSWORD,
                         EPOCHLOG_DB_USER="epochlog", EPOCHLOG_DB_PASSWORD=f'"{APP_PASSWORD}"')
    result, calls = run_setup(stand_ins, env_file)
    assert result.returncode == 0, result.stderr
    docker = [call for call in calls if call["tool"] == "docker"]
    compose = ["compose", "--env-file", str(env_file), "-f", str(MONGO_COMPOSE)]
    for call in docker:
        if call["argv"][:2] != ["compose", "version"]:
            assert call["argv"][:5] == compose
        for secret in (ROOT_PASSWORD, APP_PASSWORD):
            assert not any(secret in word for word in call["argv"]), "a secret on docker's command line"

    create = [call for call in docker if "createUser" in call["argv"][-1]]
    assert len(create) == 1
    argv = create[0]["argv"][5:]
    assert argv[:2] == ["exec", "-T"]
    passed = {argv[i + 1] for i, word in enumerate(argv) if word == "-e"}
    assert passed == {*SECRETS, "EPOCHLOG_DB_NAME"}
    assert argv[argv.index("mongodb"):argv.index("mongodb") + 4] == ["mongodb", "mongosh", "--quiet", "--norc"]
    script = argv[-1]
    assert "readWrite" in script and "updateUser" in script and "process.env" in script
    # compose resolves `-e NAME` from its environment: what the stand-in saw is what mongosh would get
    seen = {name: create[0]["env"][name] for name in (*SECRETS, "EPOCHLOG_DB_NAME")}
    assert seen == {"MONGO_ROOT_USERNAME": "root", "MONGO_ROOT_PASSWORD": ROOT_PASSWORD,
                    "EPOCHLOG_DB_USER": "epochlog", "EPOCHLOG_DB_PASSWORD": APP_PASSWORD, "EPOCHLOG_DB_NAME": "eeg2025"}

    # `epochlog init`, with its --uri given as EPOCHLOG_URI (the option's environment form): not on argv
    init = [call for call in calls if call["tool"] == "epochlog"]
    assert calls.index(init[0]) > calls.index(create[0])
    assert [call["argv"] for call in init] == [["init"]]
    uri = init[0]["env"]["EPOCHLOG_URI"]
    parsed = parse_uri(uri)
    assert (parsed["username"], parsed["password"]) == ("epochlog", APP_PASSWORD)
    assert parsed["nodelist"] == [("127.0.0.1", 27017)]
    assert parsed["database"] == "eeg2025"
    assert parsed["options"]["authSource"] == "eeg2025"
    encoded = uri.split("@")[0].rsplit(":", 1)[1]
    output = result.stderr + result.stdout
    assert "Store ready, indexes in place: mongodb://epochlog:***@127.0.0.1:27017/eeg2025" in output
    assert APP_PASSWORD not in output and encoded not in output


def test_setup_mongo_prefers_the_environment_and_takes_a_database(tmp_path: Path, stand_ins: Path) -> None:
    env_file = write_env(tmp_path, MONGO_ROOT_USERNAME="root", MONGO_ROOT_PASSWORD=ROOT_PASSWORD,
                         EPOCHLOG_DB_USER="epochlog", EPOCHLOG_DB_PASSWORD="from-the-env-file-0123456789")
    result, calls = run_setup(stand_ins, env_file, EPOCHLOG_DB_PASSWORD="from-the-environment-0123456789",
                              EPOCHLOG_DB_NAME="eeg2026", EPOCHLOG_COMPOSE_FILE=str(NOSQL_COMPOSE))
    assert result.returncode == 0, result.stderr
    create = next(call for call in calls if call["tool"] == "docker" and "createUser" in call["argv"][-1])
    assert create["argv"][4] == str(NOSQL_COMPOSE)
    assert create["env"]["EPOCHLOG_DB_PASSWORD"] == "from-the-environment-0123456789"
    uri = next(call for call in calls if call["tool"] == "epochlog")["env"]["EPOCHLOG_URI"]
    assert uri.endswith("@127.0.0.1:27017/eeg2026?authSource=eeg2026")
    assert parse_uri(uri)["password"] == "from-the-environment-0123456789"


def test_setup_mongo_says_when_mongodb_is_not_up(tmp_path: Path, stand_ins: Path) -> None:
    env_file = write_env(tmp_path, MONGO_ROOT_USERNAME="root", MONGO_ROOT_PASSWORD=ROOT_PASSWORD,
                         EPOCHLOG_DB_USER="epochlog", EPOCHLOG_DB_PASSWORD="0123456789abcdef0123")
    result, calls = run_setup(stand_ins, env_file, STAND_IN_DOWN="1", EPOCHLOG_SETUP_TIMEOUT="0")
    assert result.returncode != 0
    assert "did not answer" in result.stderr and "ECONNREFUSED" in result.stderr
    assert "up -d --wait" in result.stderr
    assert not any(call["tool"] == "epochlog" or "createUser" in call["argv"][-1] for call in calls)
