// Sends one message to the lab with nodemailer and prints what went wrong the way nodemailer says it.
//
//   node send.js --host 127.0.0.1 --port 465 [--secure] [--require-tls] [--ignore-tls] [--user U]
//                [--auth-method NAME] [--from ADDR] [--to ADDR] [--timeout MS] [--ca FILE] [--tls10]
//
// Without arguments the settings come from the SMTP_* environment variables (tests/clients/README.md):
// SMTP_MODE=implicit is --secure, SMTP_MODE=starttls is --require-tls, SMTP_TIMEOUT is in seconds.
// The password comes from SMTP_PASSWORD; when SMTP_ACCESS_TOKEN is set, the user logs in with that OAuth 2.0
// access token instead (nodemailer's XOAUTH2). With --ca only that CA is trusted (tls.ca replaces the
// default roots). Exit status: 0 sent, 1 failed (error name, message and code on stderr), 2 bad usage.
'use strict';

const fs = require('fs');
const nodemailer = require('nodemailer');

const VALUED = ['--host', '--port', '--user', '--auth-method', '--from', '--to', '--timeout', '--ca'];

function fromEnvironment(env) {
    const options = {
        host: env.SMTP_HOST,
        port: env.SMTP_PORT,
        secure: env.SMTP_MODE === 'implicit', // port 465: TLS from the first byte
        requireTLS: env.SMTP_MODE === 'starttls', // port 587: STARTTLS, and fail if the server does not offer it
        user: env.SMTP_USER,
        from: env.SMTP_FROM || 'alice@example.com',
        to: env.SMTP_TO || 'bob@example.com',
        timeout: 1000 * Number(env.SMTP_TIMEOUT || 2),
        ca: env.SMTP_CA_FILE
    };
    return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

function parse(argv) {
    const options = fromEnvironment(process.env);
    const flags = { '--secure': 'secure', '--require-tls': 'requireTLS', '--ignore-tls': 'ignoreTLS', '--tls10': 'tls10' };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (flags[arg]) {
            options[flags[arg]] = true;
        } else if (VALUED.includes(arg) && i + 1 < argv.length) {
            options[arg.slice(2)] = argv[++i];
        } else {
            throw new Error(`unknown argument ${arg}`);
        }
    }
    if (!options.host || !options.port) {
        throw new Error('--host and --port are required');
    }
    return options;
}

function tlsOptions(options) {
    const tls = options.ca ? { ca: fs.readFileSync(options.ca) } : {};
    if (options.tls10) {
        // TLS 1.0 only, as old programs speak it: OpenSSL 3 offers it only at security level 0.
        Object.assign(tls, { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    }
    return Object.keys(tls).length ? tls : undefined;
}

function credentials(user, env) {
    if (env.SMTP_ACCESS_TOKEN) {
        return { type: 'OAuth2', user, accessToken: env.SMTP_ACCESS_TOKEN };
    }
    return { user, pass: env.SMTP_PASSWORD };
}

async function main() {
    let options;
    try {
        options = parse(process.argv.slice(2));
    } catch (err) {
        console.error(`usage: ${err.message}`);
        return 2;
    }
    const timeout = Number(options.timeout);
    const transport = nodemailer.createTransport({
        host: options.host,
        port: Number(options.port),
        secure: Boolean(options.secure),
        requireTLS: Boolean(options.requireTLS),
        ignoreTLS: Boolean(options.ignoreTLS),
        name: 'client.example.com',
        authMethod: options['auth-method'],
        auth: options.user ? credentials(options.user, process.env) : undefined,
        tls: tlsOptions(options),
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout
    });
    try {
        await transport.sendMail({ from: options.from, to: options.to, subject: 'Hello from Node', text: 'Hi!\n' });
        console.log('sent');
        return 0;
    } catch (err) {
        console.error(`${err.name}: ${err.message}`);
        console.error(`code: ${err.code}`);
        return 1;
    } finally {
        transport.close();
    }
}

main().then(code => {
    process.exitCode = code;
});
