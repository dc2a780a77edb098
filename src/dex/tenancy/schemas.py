"""Request and response bodies of the tenancy endpoints. Responses never carry
``password_hash`` or ``token_hash``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dex.db.base import INTEGER_MAX
from dex.kit.envelopes import PageRequest
from dex.tenancy.models import Role, StepType

StepAuthType = Literal["bearer_token", "api_key_header", "none"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# Normalized as the seed system does (trimmed, lowercased); uniqueness is case-insensitive as a result.
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=3, max_length=320, pattern=r"^\S+@\S+$"
    ),
]
# No length floor or pattern (a bad one is just a failed login), but no account has a longer email, and the
# throttle stores what was typed.
LoginEmail = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=320)]
Password = Annotated[str, Field(min_length=8, max_length=1024)]
Json = dict[str, Any]


class IdRequest(BaseModel):
    id: uuid.UUID


class LoginRequest(BaseModel):
    email: LoginEmail
    password: str


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class Me(BaseModel):
    user_id: uuid.UUID | None
    org_id: uuid.UUID
    company_id: uuid.UUID | None
    role: Role
    auth_method: Literal["jwt", "api_token", "internal", "super_admin"]


class SuperAdminMe(BaseModel):
    super_admin_id: uuid.UUID
    email: str


class RowModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OrgOut(RowModel):
    id: uuid.UUID
    name: str
    slug: str
    created_at: datetime
    updated_at: datetime


class OrgCreateRequest(BaseModel):
    name: Text
    slug: Text


class OrgUpdateRequest(BaseModel):
    id: uuid.UUID
    name: Text | None = None
    slug: Text | None = None


class CompanyOut(RowModel):
    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    domain: str | None
    external_ref: str | None
    created_at: datetime
    updated_at: datetime


class CompanyCreateRequest(BaseModel):
    org_id: uuid.UUID
    name: Text
    domain: str | None = None
    external_ref: str | None = None


class CompanyListRequest(PageRequest):
    org_id: uuid.UUID | None = None


class UserOut(RowModel):
    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID | None
    email: str
    full_name: str | None
    role: Role
    is_active: bool
    created_at: datetime
    updated_at: datetime


class UserCreateRequest(BaseModel):
    org_id: uuid.UUID
    email: Email
    password: Password
    role: Role
    company_id: uuid.UUID | None = None
    full_name: str | None = None


class UserListRequest(PageRequest):
    org_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None


class ApiTokenOut(RowModel):
    id: uuid.UUID
    name: str
    org_id: uuid.UUID
    company_id: uuid.UUID | None
    role: Role
    user_id: uuid.UUID | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


class ApiTokenCreated(ApiTokenOut):
    """The only response that carries the raw token."""

    token: str


class ApiTokenCreateRequest(BaseModel):
    user_id: uuid.UUID
    name: Text
    expires_at: datetime | None = Field(default=None, description="Must be in the future; timezone-aware.")


class ApiTokenListRequest(PageRequest):
    org_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None


class StepOut(RowModel):
    id: uuid.UUID
    slug: str
    task_id: str
    name: str
    description: str | None
    step_type: StepType
    default_config: Json
    input_schema: Json | None
    output_schema: Json | None
    is_active: bool
    url: str
    method: str
    auth_type: str | None
    auth_config: Json
    payload_template: Json | None
    response_mapping: Json | None
    timeout_ms: int | None
    retry_config: Json
    created_at: datetime
    updated_at: datetime


class StepFields(BaseModel):
    """Every writable field of a legacy step. A null (or absent) field keeps the stored value, or the
    column default on registration."""

    slug: Text | None = None
    task_id: Text | None = None
    name: Text | None = None
    description: str | None = None
    step_type: StepType | None = None
    default_config: Json | None = None
    input_schema: Json | None = None
    output_schema: Json | None = None
    url: Text | None = None
    method: Text | None = None
    auth_type: StepAuthType | None = None
    auth_config: Json | None = None
    payload_template: Json | None = None
    response_mapping: Json | None = None
    timeout_ms: int | None = Field(default=None, gt=0, le=INTEGER_MAX)
    retry_config: Json | None = None

    def provided(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude={"id"})


class StepRegisterRequest(StepFields):
    slug: Text
    name: Text
    step_type: StepType
    url: Text


class StepUpdateRequest(StepFields):
    id: uuid.UUID


class StepListRequest(PageRequest):
    step_type: StepType | None = None
    is_active: bool | None = None


class StepGetRequest(BaseModel):
    id: uuid.UUID | None = None
    slug: str | None = None
