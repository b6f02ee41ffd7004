//! Placeholder: a real SMTP server (aiosmtpd) on loopback for mail tests.
