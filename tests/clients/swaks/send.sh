#!/usr/bin/env bash
# Sends one message with swaks and prints only swaks's own error lines (--silent 2).
#
# Settings come from the environment (tests/clients/README.md): SMTP_HOST, SMTP_PORT, SMTP_MODE
# (implicit or starttls), SMTP_CA_FILE, SMTP_USER, SMTP_PASSWORD, SMTP_FROM, SMTP_TO, SMTP_TIMEOUT.
# Exit status: 0 sent, else swaks's own (non-zero) exit status.
set -euo pipefail

# --tls-on-connect is TLS from the first byte (port 465); --tls insists on STARTTLS (port 587).
# (--tls-optional would go on without TLS when the server does not offer STARTTLS.)
tls=--tls
[ "$SMTP_MODE" = implicit ] && tls=--tls-on-connect

# swaks takes any option from a SWAKS_OPT_<name> variable: the password stays off the command line.
# --tls-verify --tls-ca-path: check the certificate chain against this CA (swaks 20201014 does not check
# the host name).
SWAKS_OPT_auth_password="$SMTP_PASSWORD" swaks --silent 2 --server "$SMTP_HOST" --port "$SMTP_PORT" "$tls" \
  --tls-verify --tls-ca-path "$SMTP_CA_FILE" --timeout "${SMTP_TIMEOUT:-10}" \
  --auth-user "$SMTP_USER" --from "$SMTP_FROM" --to "$SMTP_TO" --header "Subject: Hello from swaks"
echo sent
