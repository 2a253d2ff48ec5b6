#!/usr/bin/env bash
# Creates (or updates) epochlog's application user on the MongoDB of docker/docker-compose.mongo.yml and
# then epochlog's indexes. Safe to run again: an existing user gets the given password and roles.
#
#   scripts/setup_mongo.sh
#
# Reads, from the environment or else from .env at the repository root:
#   MONGO_ROOT_USERNAME, MONGO_ROOT_PASSWORD    the root user the compose file created (admin database)
#   EPOCHLOG_DB_USER, EPOCHLOG_DB_PASSWORD      the application user to create: readWrite on the database
#   EPOCHLOG_DB_NAME                            the database, default eeg2025 (the user is defined in it)
# Optional: EPOCHLOG_ENV_FILE (default .env), EPOCHLOG_COMPOSE_FILE (default docker/docker-compose.mongo.yml),
# EPOCHLOG_SETUP_TIMEOUT (seconds to wait for MongoDB to answer, default 60).
#
# The stack must be running (docs/DEPLOYING.md). Secrets never appear on a command line: mongosh reads them
# from its environment (`docker compose exec -e NAME` passes our value), and `epochlog init` gets its URI
# from EPOCHLOG_URI, the environment form of `epochlog init --uri URI`.
#
# Not run on our machines (no Docker engine): tests/test_compose_files.py runs it against stand-ins for
# `docker` and `epochlog`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
ENV_FILE=${EPOCHLOG_ENV_FILE:-$ROOT/.env}
COMPOSE_FILE=${EPOCHLOG_COMPOSE_FILE:-$ROOT/docker/docker-compose.mongo.yml}
TIMEOUT=${EPOCHLOG_SETUP_TIMEOUT:-60}
MIN_PASSWORD_LENGTH=16

log() { echo "setup_mongo: $*" >&2; }
die() { log "$*"; exit 1; }

# load_env FILE: KEY=VALUE lines (comments, blanks and `export ` allowed; one pair of surrounding quotes
# removed). A variable already set in the environment wins, as it does for docker compose.
load_env() {
  local line key value number=0
  while IFS= read -r line || [[ -n $line ]]; do
    number=$((number + 1))
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    # The line itself is not echoed: it may hold a secret.
    [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] ||
      die "$1, line $number: not a KEY=VALUE line"
    key=${BASH_REMATCH[2]}
    value=${BASH_REMATCH[3]}
    if [[ $value =~ ^\"(.*)\"[[:space:]]*$ || $value =~ ^\'(.*)\'[[:space:]]*$ ]]; then
      value=${BASH_REMATCH[1]}
    else
      value=${value%%[[:space:]]#*}
      value=${value%"${value##*[![:space:]]}"}
    fi
    [[ -n ${!key+set} ]] || export "$key=$value"
  done <"$1"
}

if [[ -f $ENV_FILE ]]; then
  load_env "$ENV_FILE"
elif [[ -n ${EPOCHLOG_ENV_FILE:-} ]]; then
  die "EPOCHLOG_ENV_FILE=$ENV_FILE does not exist"
fi

missing=()
for name in MONGO_ROOT_USERNAME MONGO_ROOT_PASSWORD EPOCHLOG_DB_USER EPOCHLOG_DB_PASSWORD; do
  [[ -n ${!name:-} ]] || missing+=("$name")
done
if ((${#missing[@]})); then
  die "refusing to run: ${missing[*]} not set. Export them or put them in $ENV_FILE (see .env.example);" \
    "generate each password with: openssl rand -hex 24"
fi
export EPOCHLOG_DB_NAME=${EPOCHLOG_DB_NAME:-eeg2025}

[[ $EPOCHLOG_DB_NAME =~ ^[A-Za-z0-9_-]{1,63}$ ]] ||
  die "EPOCHLOG_DB_NAME must be letters, digits, '_' or '-' (got '$EPOCHLOG_DB_NAME')"
[[ $EPOCHLOG_DB_USER =~ ^[A-Za-z0-9_.-]+$ ]] ||
  die "EPOCHLOG_DB_USER must be letters, digits, '_', '.' or '-'"
((${#EPOCHLOG_DB_PASSWORD} >= MIN_PASSWORD_LENGTH)) ||
  die "EPOCHLOG_DB_PASSWORD is shorter than $MIN_PASSWORD_LENGTH characters; generate one with: openssl rand -hex 24"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "EPOCHLOG_SETUP_TIMEOUT must be a number of seconds"
[[ -f $COMPOSE_FILE ]] || die "compose file $COMPOSE_FILE not found"

command -v docker >/dev/null || die "docker not found on PATH (this script needs Docker with Compose v2)"
docker compose version >/dev/null 2>&1 || die "'docker compose' (Compose v2) is not available"

compose=(docker compose)
[[ -f $ENV_FILE ]] && compose+=(--env-file "$ENV_FILE")
compose+=(-f "$COMPOSE_FILE")

# mongosh_eval SCRIPT [exec options...]: run mongosh --eval SCRIPT in the mongodb service.
mongosh_eval() {
  local script=$1
  shift
  "${compose[@]}" exec -T "$@" mongodb mongosh --quiet --norc --eval "$script"
}

log "waiting up to ${TIMEOUT}s for MongoDB (service mongodb of $COMPOSE_FILE)"
deadline=$((SECONDS + TIMEOUT))
until output=$(mongosh_eval "db.adminCommand('ping').ok" 2>&1); do
  if ((SECONDS >= deadline)); then
    printf '%s\n' "$output" | tail -n 5 >&2
    die "MongoDB did not answer within ${TIMEOUT}s. Is the stack up? Start it with:" \
      "docker compose --env-file .env -f ${COMPOSE_FILE#"$ROOT"/} up -d --wait"
  fi
  sleep 2
done

# The script holds no secret: mongosh reads every value from its own environment.
read -r -d '' USER_SCRIPT <<'JS' || true
const env = process.env;
db.getSiblingDB("admin").auth(env.MONGO_ROOT_USERNAME, env.MONGO_ROOT_PASSWORD);
const target = db.getSiblingDB(env.EPOCHLOG_DB_NAME);
const roles = [{ role: "readWrite", db: env.EPOCHLOG_DB_NAME }];
if (target.getUser(env.EPOCHLOG_DB_USER) === null) {
  target.createUser({ user: env.EPOCHLOG_DB_USER, pwd: env.EPOCHLOG_DB_PASSWORD, roles: roles });
  print(`created user ${env.EPOCHLOG_DB_USER} (readWrite on ${env.EPOCHLOG_DB_NAME})`);
} else {
  target.updateUser(env.EPOCHLOG_DB_USER, { pwd: env.EPOCHLOG_DB_PASSWORD, roles: roles });
  print(`updated user ${env.EPOCHLOG_DB_USER}: new password, roles readWrite on ${env.EPOCHLOG_DB_NAME}`);
}
JS

mongosh_eval "$USER_SCRIPT" -e MONGO_ROOT_USERNAME -e MONGO_ROOT_PASSWORD -e EPOCHLOG_DB_USER \
  -e EPOCHLOG_DB_PASSWORD -e EPOCHLOG_DB_NAME >&2 ||
  die "creating the user failed (are MONGO_ROOT_USERNAME/MONGO_ROOT_PASSWORD those the volume was created with?)"

if command -v epochlog >/dev/null; then
  epochlog=(epochlog)
elif [[ -x $ROOT/.venv/bin/epochlog ]]; then
  epochlog=("$ROOT/.venv/bin/epochlog")
else
  die "the user is ready, but the epochlog command was not found to create the indexes: install epochlog" \
    "(scripts/venv) and run this script again"
fi

# Credentials in a URI must be percent-encoded (pymongo decodes "+" as a space, and "/" or "@" end the field).
quote() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read(), safe=""))'; }
user=$(printf '%s' "$EPOCHLOG_DB_USER" | quote)
password=$(printf '%s' "$EPOCHLOG_DB_PASSWORD" | quote)
uri="mongodb://$user:$password@127.0.0.1:27017/$EPOCHLOG_DB_NAME?authSource=$EPOCHLOG_DB_NAME"

# `epochlog init --uri URI` reads the same option from EPOCHLOG_URI, which keeps the password out of the
# host's process list; what it prints is shown with the password masked (COLUMNS: no line wrapped within it).
log "creating epochlog's indexes in $EPOCHLOG_DB_NAME"
status=0
output=$(EPOCHLOG_URI=$uri COLUMNS=1000 "${epochlog[@]}" init 2>&1) || status=$?
output=${output//"$password"/***}
output=${output//"$EPOCHLOG_DB_PASSWORD"/***}
[[ -z $output ]] || printf '%s\n' "$output" >&2
((status == 0)) || die "epochlog init failed (exit status $status)"
log "done: trackers connect with" \
  "EPOCHLOG_URI=mongodb://$user:<password>@127.0.0.1:27017/$EPOCHLOG_DB_NAME?authSource=$EPOCHLOG_DB_NAME"
