"""The 465 and 587 settings of each mail library, proven against the lab.

Every program in this folder (README.md) is run in six cases: the right settings on port 465 and on 587
(the message must arrive, over verified TLS), the settings swapped (implicit TLS on 587, STARTTLS settings
on 465), and a certificate from a CA the client does not trust, on each port. What each printed is stored
in results.json, which tests/test_client_matrix.py checks and notebooks/07_your_language.ipynb shows.

    .venv/bin/python tests/clients/matrix.py            # run every installed client against a new lab
    .venv/bin/python tests/clients/matrix.py --refresh  # ...and store what they printed in results.json

Errors are kept as the client printed them, except for two things that change from run to run: a lab
port is written as the port it acts as (465 or 587), and the thread id that OpenSSL 3 puts before an
error (`80AC8BF8567F0000:error:...`) is written `<thread id>`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from helpers.display import Markdown
from helpers.lab import Lab, Message
from helpers.profiles import USERS
from helpers.terms import TlsMode

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
# A name, as a provider's is. (Jakarta Mail 2.0 on Java 17 checks names only: by 127.0.0.1 it fails with
# "Can't verify identity of server".)
HOST = "localhost"
USER = "alice@example.com"
TIMEOUT = 10  # SMTP_TIMEOUT: longer than the lab's 1 s wait on 465, so there the server gives up first
RUN_TIMEOUT = 60  # seconds any one command may take, whatever happens (a JVM on a busy machine is slow)
BUILD_TIMEOUT = 300  # seconds for `go build` from a cold cache: about 7 s on an idle machine, minutes on a busy one
WORKERS = 4  # clients run at once by run_all()
JAKARTA_JARS = ("/usr/share/java/jakarta-mail.jar", "/usr/share/java/jakarta-activation.jar")


@dataclass(frozen=True)
class Case:
    """Where the client is sent and what it is told: `kind` is right, swapped or untrusted."""

    kind: str
    port: int
    profile: str
    mode: TlsMode

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.port}"

    @property
    def sends(self) -> bool:
        return self.kind == "right"


CASES = (
    Case("right", 465, "submissions", TlsMode.IMPLICIT),
    Case("right", 587, "submission", TlsMode.STARTTLS),
    Case("swapped", 465, "submissions", TlsMode.STARTTLS),
    Case("swapped", 587, "submission", TlsMode.IMPLICIT),
    Case("untrusted", 465, "submissions-untrusted-cert", TlsMode.IMPLICIT),
    Case("untrusted", 587, "submission-untrusted-cert", TlsMode.STARTTLS),
)
PROFILES = tuple(dict.fromkeys(case.profile for case in CASES))


def _printed(command: Iterable[str], pattern: str = r"(.+)", template: str = "{}", *, timeout: float = RUN_TIMEOUT,
             **options) -> str | None:
    """`template` filled with the groups of `pattern`'s first match in what a command prints (stdout, then
    stderr); None if the command is missing, fails, or prints no match."""
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, **options)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(pattern, done.stdout + done.stderr, re.MULTILINE)
    return template.format(*found.groups()) if done.returncode == 0 and found else None


# --------------------------------------------------------------------------------------------------
# Which version of each library is installed (None: it is missing, or cannot do the job)


def _django() -> str | None:
    try:
        return f"{metadata.version('django')} (Python {platform.python_version()})"
    except metadata.PackageNotFoundError:
        return None


def _nodemailer() -> str | None:
    script = "require('nodemailer/package.json').version + ' (Node.js ' + process.versions.node + ')'"
    return _printed(["node", "-p", script], cwd=HERE / "node")


def _phpmailer() -> str | None:
    script = ("require '/usr/share/php/libphp-phpmailer/autoload.php';"
              " echo PHPMailer\\PHPMailer\\PHPMailer::VERSION, ' (PHP ', PHP_VERSION, ')';")
    return _printed(["php", "-r", script])


def _symfony_mailer() -> str | None:
    # Symfony Mailer has no version constant: Debian's package version says which one it is.
    package = _printed(["dpkg-query", "--show", "--showformat=${Version}", "php-symfony-mailer"])
    php = _printed(["php", "-r", "echo PHP_VERSION;"])
    return f"{package} (PHP {php})" if package and php else None


def _ruby(library: str, version: str) -> Callable[[], str | None]:
    return lambda: _printed(["ruby", f"-r{library}", "-e", f'puts "#{{{version}}} (Ruby #{{RUBY_VERSION}})"'])


def _jakarta_mail() -> str | None:
    if not all(Path(jar).exists() for jar in JAKARTA_JARS):
        return None
    with zipfile.ZipFile(JAKARTA_JARS[0]) as jar:
        manifest = jar.read("META-INF/MANIFEST.MF").decode()
    version = re.search(r"^Implementation-Version: (\S+)", manifest, re.MULTILINE)
    java = _printed(["javac", "-version"], r"javac (\S+)")  # java runs Send.java from source: a JDK's job
    return f"{version[1]} (Java {java})" if version and java else None


def _curl() -> str | None:
    said = _printed(["curl", "--version"], r"([\s\S]+)") or ""
    version = re.search(r"^curl (\S+) .*?(OpenSSL/\S+)", said, re.MULTILINE)
    # A curl built without TLS, or without SMTP, lists no smtps among its protocols.
    if version is None or not re.search(r"^Protocols:.* smtps\b", said, re.MULTILINE):
        return None
    return f"{version[1]} ({version[2]})"


def _swaks() -> str | None:
    # Debian's swaks only recommends the Perl modules for TLS and AUTH (Net::SSLeay, IO::Socket::SSL,
    # Authen::SASL). swaks 20201014 lists what it can do, one "=== ... supported" line each.
    can = _printed(["swaks", "--support"], r"([\s\S]+)") or ""
    if "=== TLS supported" not in can or "=== Basic AUTH supported" not in can:
        return None
    return _printed(["swaks", "--version"], r"swaks version (\S+)")


# --------------------------------------------------------------------------------------------------
# What some need before they can run


def _build_go(build: Path) -> str | None:
    # A private cache and GOPATH, and no module downloads: the program uses only the standard library.
    env = {**os.environ, "GOCACHE": str(build / "gocache"), "GOPATH": str(build / "gopath"), "GOPROXY": "off",
           "GOFLAGS": "", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
    command = ["go", "build", "-o", str(build / "labsend"), "main.go"]
    built = _printed(command, r"()", cwd=HERE / "go", env=env, timeout=BUILD_TIMEOUT)
    return None if built is not None else "go build failed"


NODEMAILER_INSTALL = "make clients, or: cd tests/clients/node && npm ci"


def _find_nodemailer(build: Path) -> str | None:
    major = _printed(["node", "-p", "process.versions.node"], r"^(\d+)\.")
    if major is None or int(major) < 20:
        return f"nodemailer 10 needs Node.js 20 or later; this machine has {major or 'none'}"
    # Installed by `make test` (an install step, like pip's): nothing here reaches past loopback.
    if not (HERE / "node" / "node_modules" / "nodemailer" / "package.json").exists():
        return f"nodemailer is not installed ({NODEMAILER_INSTALL})"
    return None


@dataclass(frozen=True)
class Client:
    """One program in this folder, and what it needs."""

    name: str  # its folder, and its name in results.json
    library: str
    language: str
    source: str  # the program, in its folder
    command: tuple[str, ...]  # run in its folder; {python}, {source} and {build} are filled in
    version: Callable[[], str | None]  # the installed library's version; None when it is missing
    install: str  # what brings it (on Debian)
    prepare: Callable[[Path], str | None] | None = None  # builds into a folder; returns why it could not
    host: str = HOST  # the name (or address) it connects to

    @property
    def folder(self) -> Path:
        return HERE / self.name

    @property
    def program(self) -> Path:
        return self.folder / self.source

    def argv(self, build: Path) -> list[str]:
        return [part.format(python=sys.executable, source=self.source, build=build) for part in self.command]

    def ready(self, build: Path) -> str | None:
        """Prepare to run from `build`; None when ready, else why not and how to install it."""
        if self.prepare is not None and (why := self.prepare(build)):
            return f"{why} ({self.install})"
        if self.version() is None:
            return f"{self.library} is not installed, or lacks what it needs ({self.install})"
        return None


CLIENTS = {client.name: client for client in (
    Client("python", "smtplib", "Python", "send.py", ("{python}", "{source}"),
           lambda: f"Python {platform.python_version()}", "Python itself"),
    Client("django", "Django", "Python", "send.py", ("{python}", "{source}"),
           _django, "pip install -r requirements.txt"),
    Client("go", "net/smtp", "Go", "main.go", ("{build}/labsend",),
           lambda: _printed(["go", "version"], r"go version go(\S+)", "Go {}"), "apt-get install golang-go",
           prepare=_build_go),
    # By address: nodemailer looks a name up with a DNS query of its own (dns.resolve4) before it tries the
    # system's resolver, so even "localhost" would leave the machine.
    Client("node", "nodemailer", "JavaScript", "send.js", ("node", "{source}"),
           _nodemailer, "apt-get install nodejs npm", prepare=_find_nodemailer, host="127.0.0.1"),
    Client("phpmailer", "PHPMailer", "PHP", "send.php", ("php", "{source}"),
           _phpmailer, "apt-get install php-cli libphp-phpmailer"),
    Client("symfony", "Symfony Mailer", "PHP", "send.php", ("php", "{source}"),
           _symfony_mailer, "apt-get install php-cli php-symfony-mailer"),
    Client("ruby-net-smtp", "Net::SMTP", "Ruby", "send.rb", ("ruby", "{source}"),
           _ruby("net/smtp", "Net::SMTP::VERSION"), "apt-get install ruby"),
    Client("ruby-mail", "mail gem", "Ruby", "send.rb", ("ruby", "{source}"),
           _ruby("mail", "Mail::VERSION.version"), "apt-get install ruby ruby-mail"),
    Client("jakarta-mail", "Jakarta Mail", "Java", "Send.java", ("java", "-cp", ":".join(JAKARTA_JARS), "{source}"),
           _jakarta_mail, "apt-get install default-jdk-headless libjakarta-mail-java libjakarta-activation-java"),
    Client("curl", "curl", "shell", "send.sh", ("bash", "{source}"), _curl, "apt-get install curl"),
    Client("swaks", "swaks", "shell", "send.sh", ("bash", "{source}"),
           _swaks, "apt-get install swaks libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl"),
)}


# --------------------------------------------------------------------------------------------------
# Running them


@dataclass(frozen=True)
class Result:
    """What one client did in one case. `error` is what it printed when it failed ("" when sent);
    `delivered` is the message as the lab received it (not stored)."""

    client: str
    case: str
    outcome: str  # "sent" or "failed"
    error: str
    delivered: Message | None = None


def normalise(text: str, lab: Lab) -> str:
    """What a client printed, written the same way on every run (see the module docstring)."""
    for endpoint in lab.endpoints.values():
        text = re.sub(rf"(?<!\d){endpoint.port}(?!\d)", str(endpoint.acts_as), text)
    text = re.sub(r"\b[0-9A-F]{12,16}(?=:error:)", "<thread id>", text)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def comparable(error: str) -> str:
    """An error as the test compares it: Python's ssl errors name the line of _ssl.c that raised them,
    which changes from one Python release to the next (the notebooks' nbval sanitizer does the same)."""
    return re.sub(r"\(_ssl\.c:\d+\)", "(_ssl.c:N)", error)


def run(client: Client, case: Case, lab: Lab, build: Path) -> Result:
    """Run a ready client (Client.ready) once against the lab, as `case` says."""
    endpoint = lab[case.profile]
    to = f"bob+{client.name}.{case.id}@example.com"  # finds its message in the mailbox, whatever ran beside it
    settings = {"SMTP_HOST": client.host, "SMTP_PORT": str(endpoint.port), "SMTP_MODE": str(case.mode),
                "SMTP_CA_FILE": str(lab.ca_file), "SMTP_USER": USER, "SMTP_PASSWORD": USERS[USER],
                "SMTP_FROM": USER, "SMTP_TO": to, "SMTP_TIMEOUT": str(TIMEOUT)}
    done = subprocess.run(client.argv(build), cwd=client.folder, env={**os.environ, **settings},
                          capture_output=True, text=True, timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    delivered = next((message for message in lab.mailbox if to in message.rcpt_tos), None)
    if done.returncode == 0:
        return Result(client.name, case.id, "sent", "", delivered)
    return Result(client.name, case.id, "failed", normalise(done.stdout + done.stderr, lab), delivered)


def run_all(clients: Iterable[Client], lab: Lab, build: Path, *, cases: Iterable[Case] = CASES) -> list[Result]:
    """Run every client in every case, a few at a time, in the order given."""
    jobs = [(client, case) for client in clients for case in cases]
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda job: run(*job, lab, build), jobs))


# --------------------------------------------------------------------------------------------------
# The stored results


def stored() -> list[dict]:
    """The records of the last refresh: one per client and case, in the order of CLIENTS and CASES."""
    return json.loads(RESULTS.read_text())["results"]


def listing(name: str) -> Markdown:
    """A client's program as a Markdown code block, which notebooks show highlighted (and a terminal as
    it is)."""
    client = CLIENTS[name]
    language = {".py": "python", ".go": "go", ".js": "javascript", ".php": "php", ".rb": "ruby", ".java": "java",
                ".sh": "bash"}[client.program.suffix]
    return Markdown(f"`tests/clients/{name}/{client.source}`:\n\n```{language}\n{client.program.read_text()}```")


def results(name: str) -> str:
    """What one client printed in each case at the last refresh, as text (see table)."""
    return table(entry for entry in stored() if entry["client"] == name)


def as_record(result: Result, version: str) -> dict:
    """A result as results.json keeps it."""
    client, case = CLIENTS[result.client], next(case for case in CASES if case.id == result.case)
    return {"client": client.name, "library": client.library, "language": client.language, "version": version,
            "case": case.id, "settings": str(case.mode), "outcome": result.outcome, "error": result.error}


def store(records: Iterable[dict]) -> None:
    """Replace the stored records of the clients given; keep the others (those not installed here)."""
    fresh = list(records)
    ran = {entry["client"] for entry in fresh}
    kept = [entry for entry in stored() if entry["client"] not in ran] if RESULTS.exists() else []
    order = {name: i for i, name in enumerate(CLIENTS)} | {case.id: i for i, case in enumerate(CASES)}
    document = {
        "about": "What each program in tests/clients printed against the lab. Written by "
                 "`.venv/bin/python tests/clients/matrix.py --refresh`; checked by tests/test_client_matrix.py.",
        "results": sorted(kept + fresh, key=lambda entry: (order[entry["client"]], order[entry["case"]])),
    }
    RESULTS.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def table(records: Iterable[dict], *, versions: bool = True) -> str:
    """Records as text: each library (and its version), then what it did in each case."""
    lines: list[str] = []
    library = None
    for entry in records:
        heading = f"{entry['library']} {entry['version']}" if versions else entry["library"]
        if heading != library:
            library = heading
            lines += [""] * bool(lines) + [heading]
        said = entry["error"].splitlines() or [entry["outcome"]]
        label = f"  {entry['case']:<14}{entry['settings']:<10}"
        lines += [label + said[0]] + [(" " * len(label) + line).rstrip() for line in said[1:]]
    return "\n".join(lines)


def run_clients(names: Iterable[str], lab: Lab) -> tuple[list[dict], dict[str, str]]:
    """Prepare each named client and run it in every case, a few at a time: the records of those that
    ran, and why each of the others could not."""
    with tempfile.TemporaryDirectory(prefix="client-matrix-") as folder:
        build, ready, skipped = Path(folder), [], {}
        for client in (CLIENTS[name] for name in names):
            if why := client.ready(build):
                skipped[client.name] = why
            else:
                ready.append(client)
        results = run_all(ready, lab, build)
    versions = {client.name: client.version() for client in ready}
    return [as_record(result, versions[result.client]) for result in results], skipped


def live(lab: Lab, names: Iterable[str] = CLIENTS, *, versions: bool = True) -> str:
    """Run the named clients against a lab that has the PROFILES, and say what each did (or why it
    did not run), as text."""
    records, skipped = run_clients(names, lab)
    notes = [f"{CLIENTS[name].library}: not run, {why}" for name, why in skipped.items()]
    return "\n\n".join(filter(None, [table(records, versions=versions), *notes]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tests/clients/matrix.py",
                                     description="Run the client programs against a new lab and print what they did.")
    parser.add_argument("--refresh", action="store_true", help="also store the results in tests/clients/results.json")
    parser.add_argument("clients", nargs="*", metavar="CLIENT", help=f"only these (default: all): {', '.join(CLIENTS)}")
    options = parser.parse_args(argv)
    if unknown := set(options.clients) - set(CLIENTS):
        parser.error(f"unknown client {', '.join(sorted(unknown))}; choose from {', '.join(CLIENTS)}")
    with Lab(*PROFILES) as lab:
        records, skipped = run_clients(options.clients or CLIENTS, lab)
    for name, why in skipped.items():
        print(f"skipped {CLIENTS[name].library}: {why}", file=sys.stderr)
    print(table(records))
    if options.refresh:
        store(records)
        print(f"\nstored in {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
