# Sends one message with Ruby's Net::SMTP and prints what went wrong as "Class: message", the way Ruby
# names an exception.
#
# Settings come from the environment (tests/clients/README.md): SMTP_HOST, SMTP_PORT, SMTP_MODE
# (implicit or starttls), SMTP_CA_FILE, SMTP_USER, SMTP_PASSWORD, SMTP_FROM, SMTP_TO, SMTP_TIMEOUT.
# Exit status: 0 sent, 1 failed.

require "net/smtp"

implicit = ENV.fetch("SMTP_MODE") == "implicit"
timeout = Float(ENV.fetch("SMTP_TIMEOUT", "10"))
# Net::SMTP verifies the chain and the host name (tls_verify: true is the default); ca_file replaces the
# system's store with this one file.
smtp = Net::SMTP.new(ENV.fetch("SMTP_HOST"), Integer(ENV.fetch("SMTP_PORT")),
                     tls: implicit,                       # port 465: TLS from the first byte
                     starttls: implicit ? false : :always, # port 587: STARTTLS, or fail (:auto would go on without)
                     ssl_context_params: ENV["SMTP_CA_FILE"] ? { ca_file: ENV["SMTP_CA_FILE"] } : nil)
smtp.open_timeout = timeout
smtp.read_timeout = timeout

message = <<~MESSAGE
  From: #{ENV.fetch("SMTP_FROM")}
  To: #{ENV.fetch("SMTP_TO")}
  Subject: Hello from Net::SMTP

  Hi!
MESSAGE

begin
  smtp.start(user: ENV.fetch("SMTP_USER"), secret: ENV.fetch("SMTP_PASSWORD"), authtype: :plain) do |session|
    session.send_message(message, ENV.fetch("SMTP_FROM"), ENV.fetch("SMTP_TO"))
  end
rescue StandardError => e
  warn "#{e.class}: #{e.message}"
  exit 1
end
puts "sent"
