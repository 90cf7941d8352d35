# Sends one message with the mail gem (Debian's ruby-mail; ActionMailer's smtp_settings take the same keys)
# and prints what went wrong as "Class: message", the way Ruby names an exception.
#
# Settings come from the environment (tests/clients/README.md): SMTP_HOST, SMTP_PORT, SMTP_MODE
# (implicit or starttls), SMTP_CA_FILE, SMTP_USER, SMTP_PASSWORD, SMTP_FROM, SMTP_TO, SMTP_TIMEOUT.
# Exit status: 0 sent, 1 failed.

require "mail"

implicit = ENV.fetch("SMTP_MODE") == "implicit"
timeout = Float(ENV.fetch("SMTP_TIMEOUT", "10"))
mail = Mail.new(from: ENV.fetch("SMTP_FROM"), to: ENV.fetch("SMTP_TO"), subject: "Hello from the mail gem", body: "Hi!\n")
mail.delivery_method :smtp,
                     address: ENV.fetch("SMTP_HOST"),
                     port: Integer(ENV.fetch("SMTP_PORT")),
                     tls: implicit,              # port 465: TLS from the first byte (ssl: is the same)
                     enable_starttls: !implicit, # port 587: STARTTLS, or fail (enable_starttls_auto would go on without)
                     ca_file: ENV["SMTP_CA_FILE"], # trust this CA instead of the system's; verification stays on
                     user_name: ENV.fetch("SMTP_USER"),
                     password: ENV.fetch("SMTP_PASSWORD"),
                     authentication: :plain,
                     open_timeout: timeout,
                     read_timeout: timeout

begin
  mail.deliver!
rescue StandardError => e
  warn "#{e.class}: #{e.message}"
  exit 1
end
puts "sent"
