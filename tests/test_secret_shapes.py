"""Credential shapes people paste into notes, and the look-alikes that must still be stored.

The positives are written here for this table (not taken from any scanner's test data); each
value is invented. The negatives are ordinary engineering notes that sit next to the same words.
"""

from __future__ import annotations

import pytest

from mcp_memory.trust.detectors.secret import detect

CREDENTIALS = [
    "The staging DB is postgres://app:Xk9!mQ2#pL7v@db.internal:5432/app",
    "DATABASE_URL=postgres://app:Xk9!mQ2pL7vz@db.internal/app",
    "redis://:S3cr3t!Pass99@cache:6379/0",
    "amqp://svc:Tr0ub4dor&3x@mq.internal",
    "mongodb+srv://admin:p%40ssW0rd!2024@cluster0.mongodb.net",
    "ftp://user:hunter2hunter2!@files.corp.net",
    "jdbc:mysql://root:R00t!pass2024@db:3306/shop",
    "https://deploy:ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/org/repo.git",
    "Set PGPASSWORD=Qw3rty!Zx9Lm before running psql",
    'password: "N0t-a-dr!ll-9931"',
    "smtp password is Zq7!vB3#nM9$kL2",
    "the admin password was Hq4-Lm8-Zt2 until March",
    "mysql -u deploy -p'Vx8!kq3Lz0' shop",
    "mysqldump -h db -u backup -pBk9!Lm2Qz shop > shop.sql",
    "mariadb --user=ops --password=Op5!Wz8kLq",
    "curl -u admin:Adm1n!2345xyz https://jenkins.internal/api",
    "docker login -p Dkr!Pass2024x registry.internal",
    "Authorization: Basic YWRtaW46c3VwM3JzM2NyM3QhMjM=",
    "aws_secret_access_key = 9f8Ks7Lq2Xz3Vb6Nm1Pp0Oo9Ii8Uu7Yy6Tt5Rr4E",
    "AKIAZ7QWERTYUIOPASDF is the deploy key id",
    "the api key is sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcDEF123ghiJKL456mno",
    "npm token: npm_abcdefghijklmnopqrstuvwxyz0123456789",
    "GITLAB_TOKEN=glpat-abcdefghij1234567890",
    "Alerts post to https://hooks.slack.com/services/T04AB12CD/B05EF34GH/q8Zr1Lk2Mn3Bv4Cx5Zs6",
    "twilio auth token is 5f4dcc3b5aa765d61d8327deb882cf99",
]

ORDINARY = [
    "Local dev uses postgres://postgres:postgres@localhost:5432/dev from docker-compose",
    "postgresql://app:app@localhost/app is the test database URL",
    "DATABASE_URL=postgres://app:${DB_PASSWORD}@db.internal/app, the password comes from Vault",
    "Use https://user:<token>@github.com/org/repo.git only in CI, with the masked variable",
    "The password is required for the admin UI; reset it with `make reset-admin`.",
    "A token is issued per deploy; it expires after 3600 seconds.",
    "Run `mysql -u root -p` and type the password when asked.",
    "Start the service with `docker run -p 8080:8080 api`.",
    "docker login uses the credential helper; never pass -p on the command line.",
    'curl -u "$USER:$TOKEN" https://api.internal/health',
    "The secret is stored in AWS Secrets Manager under prod/api.",
    "Release tag v2.4.1 is commit 5f4dcc3b5aa765d61d8327deb882cf99aa11bb22",
    "git clone git@github.com:org/repo.git",
    "ssh://git@gitlab.internal:2222/team/app.git is the mirror",
    "Authorization: Basic is rejected by the gateway; use a Bearer token from the auth service.",
    "Slack alerts go to the #deploys channel via the webhook in the SLACK_WEBHOOK_URL variable.",
    "password: ******** (masked in logs)",
    "api_key: your-api-key-here",
]


@pytest.mark.parametrize("text", CREDENTIALS)
def test_a_pasted_credential_is_refused_whatever_its_shape(text: str) -> None:
    assert detect(text), f"not caught: {text}"


@pytest.mark.parametrize("text", ORDINARY)
def test_notes_about_credentials_without_one_are_stored(text: str) -> None:
    assert detect(text) == [], f"false positive: {text}"


@pytest.mark.parametrize("text", CREDENTIALS)
def test_the_refusal_never_repeats_the_credential(text: str) -> None:
    for signal in detect(text):
        assert "!" not in signal.evidence and "@" not in signal.evidence
