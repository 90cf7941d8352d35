#!/usr/bin/env bash
# Sends one message with curl and prints what went wrong exactly as curl reports it ("curl: (N) ...").
#
# Settings come from the environment (tests/clients/README.md): SMTP_HOST, SMTP_PORT, SMTP_MODE
# (implicit or starttls), SMTP_CA_FILE, SMTP_USER, SMTP_PASSWORD, SMTP_FROM, SMTP_TO, SMTP_TIMEOUT.
# Exit status: 0 sent, else curl's own (non-zero) exit status.
set -euo pipefail

# smtps:// is TLS from the first byte (port 465); smtp:// with --ssl-reqd insists on STARTTLS (port 587).
# (--ssl alone would go on without TLS when the server does not offer STARTTLS.)
scheme=smtp
[ "$SMTP_MODE" = implicit ] && scheme=smtps

message() {
  printf 'From: %s\r\nTo: %s\r\nSubject: Hello from curl\r\n\r\nHi!\r\n' "$SMTP_FROM" "$SMTP_TO"
}

# The login goes in a netrc "file" that only this process can read, never on the command line.
# --cacert: trust this CA instead of the system's; curl verifies the chain and the name unless told not to.
message | curl --silent --show-error --ssl-reqd --cacert "$SMTP_CA_FILE" \
  --connect-timeout "${SMTP_TIMEOUT:-10}" --max-time "${SMTP_TIMEOUT:-10}" \
  --netrc-file <(printf 'machine %s login %s password %s\n' "$SMTP_HOST" "$SMTP_USER" "$SMTP_PASSWORD") \
  --mail-from "$SMTP_FROM" --mail-rcpt "$SMTP_TO" --upload-file - "$scheme://$SMTP_HOST:$SMTP_PORT"
echo sent
