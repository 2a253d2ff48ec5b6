"""URIs fit to show: a store's, a cache's or an artifact store's URI without its secrets, for every log line,
message and page that names one."""

from __future__ import annotations

#: Query options whose value may be a secret, e.g. MongoDB's tlsCertificateKeyFilePassword, or its
#: authMechanismProperties (AWS_SESSION_TOKEN:...); matched in any case
SECRET_OPTION_WORDS = ("password", "secret", "token", "authmechanismproperties")


def redact(uri: str, *, keep_user: bool = True) -> str:
    """`uri` with its password (and, unless `keep_user`, its user) and any secret-looking query option masked
    as `***`; a URI without credentials, or a plain path, is returned as it is."""
    scheme, separator, rest = uri.partition("://")
    if not separator:
        return uri
    rest, question, query = rest.partition("?")
    if question:
        query = "&".join(_masked_option(option) for option in query.split("&"))
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        credentials, host = authority.rsplit("@", 1)
        authority = (f"{credentials.split(':', 1)[0]}:***@" if keep_user else "") + host
    return f"{scheme}://{authority}{slash}{path}{question}{query}"


def _masked_option(option: str) -> str:
    name, equals, value = option.partition("=")
    if equals and any(word in name.lower() for word in SECRET_OPTION_WORDS):
        return f"{name}=***"
    return option


__all__ = ["redact"]
