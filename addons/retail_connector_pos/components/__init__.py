from . import webhook_authenticator
