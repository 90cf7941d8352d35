"""Send one message with Django's mail API (send_mail and the SMTP backend), and print what went wrong
exactly as Python reports it (the last line of a traceback).

Settings come from the environment (see tests/clients/README.md): SMTP_HOST, SMTP_PORT, SMTP_MODE
(implicit or starttls), SMTP_CA_FILE, SMTP_USER, SMTP_PASSWORD, SMTP_FROM, SMTP_TO, SMTP_TIMEOUT.
Exit status: 0 sent, 1 failed.
"""

import os
import smtplib
import sys
import traceback

from django.conf import settings
from django.core.mail import send_mail


def configure() -> None:
    mode = os.environ["SMTP_MODE"]
    # Django has no setting for a CA file: its SMTP backend verifies with ssl.create_default_context(),
    # which trusts the file OpenSSL's SSL_CERT_FILE names, else the system's store.
    if os.environ.get("SMTP_CA_FILE"):
        os.environ["SSL_CERT_FILE"] = os.environ["SMTP_CA_FILE"]
    settings.configure(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST=os.environ["SMTP_HOST"],
        EMAIL_PORT=int(os.environ["SMTP_PORT"]),
        EMAIL_USE_SSL=mode == "implicit",  # port 465: TLS from the first byte
        EMAIL_USE_TLS=mode == "starttls",  # port 587: STARTTLS, required once asked for
        EMAIL_HOST_USER=os.environ["SMTP_USER"],
        EMAIL_HOST_PASSWORD=os.environ["SMTP_PASSWORD"],
        EMAIL_TIMEOUT=float(os.environ.get("SMTP_TIMEOUT", "10")),  # Django's default is None: no timeout
    )


def main() -> int:
    configure()
    try:
        send_mail("Hello from Django", "Hi!\n", os.environ["SMTP_FROM"], [os.environ["SMTP_TO"]])
    except (smtplib.SMTPException, OSError) as error:
        print(traceback.format_exception_only(error)[-1], end="", file=sys.stderr)
        return 1
    print("sent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
