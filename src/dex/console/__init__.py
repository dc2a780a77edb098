"""The web console served by ``dex serve`` under ``/console``: server-rendered pages over the same services
and tenancy rules as the API."""
