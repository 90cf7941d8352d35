"""Send one message with Python's smtplib, verifying the server's certificate, and print what went wrong
exactly as Python reports it (the last line of a traceback).

Settings come from the environment (see tests/clients/README.md): SMTP_HOST, SMTP_PORT, SMTP_MODE
(implicit or starttls), SMTP_CA_FILE, SMTP_USER, SMTP_PASSWORD, SMTP_FROM, SMTP_TO, SMTP_TIMEOUT.
Exit status: 0 sent, 1 failed.
"""

import os
import smtplib
import ssl
import sys
import traceback
from email.message import EmailMessage


def send(message: EmailMessage) -> None:
    host, port, mode = os.environ["SMTP_HOST"], int(os.environ["SMTP_PORT"]), os.environ["SMTP_MODE"]
    timeout = float(os.environ.get("SMTP_TIMEOUT", "10"))
    # Checks the chain and the host name; cafile=None would mean the system's trust store.
    context = ssl.create_default_context(cafile=os.environ.get("SMTP_CA_FILE"))
    if mode == "implicit":  # port 465: TLS from the first byte
        smtp = smtplib.SMTP_SSL(host, port, context=context, timeout=timeout)
    else:  # port 587: plaintext greeting, then STARTTLS, which starttls() insists on
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if mode == "starttls":
            smtp.starttls(context=context)
        smtp.login(os.environ["SMTP_USER"], os.environ["SMTP_PASSWORD"])
        smtp.send_message(message)


def main() -> int:
    message = EmailMessage()
    message["From"], message["To"] = os.environ["SMTP_FROM"], os.environ["SMTP_TO"]
    message["Subject"] = "Hello from smtplib"
    message.set_content("Hi!\n")
    try:
        send(message)
    except (smtplib.SMTPException, OSError) as error:
        print(traceback.format_exception_only(error)[-1], end="", file=sys.stderr)
        return 1
    print("sent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
