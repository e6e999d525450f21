"""REST: answering interactions: the initial callback, then the interaction webhook
(follow-ups, and reading, editing or deleting the original and follow-up messages)."""

from __future__ import annotations

import time
from typing import Any

from localdiscord._rest.base import NO_CONTENT, Call, Endpoint, Reply, Resource, ok
from localdiscord.errors import ApiError, invalid_form_body, unknown
from localdiscord.models import (
    InteractionCallbackType,
    InteractionType,
    Message,
    MessageFlag,
    MessageType,
    Thread,
)
from localdiscord.records import InteractionRecord, InteractionResponse, Violation
from localdiscord.validation import Problem, check_message, check_modal

Answer = InteractionCallbackType

# The initial responses Discord accepts for each kind of interaction.
ALLOWED_ANSWERS: dict[InteractionType, frozenset[InteractionCallbackType]] = {
    InteractionType.APPLICATION_COMMAND: frozenset(
        {
            Answer.CHANNEL_MESSAGE_WITH_SOURCE,
            Answer.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            Answer.MODAL,
        }
    ),
    InteractionType.MESSAGE_COMPONENT: frozenset(
        {
            Answer.CHANNEL_MESSAGE_WITH_SOURCE,
            Answer.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            Answer.DEFERRED_UPDATE_MESSAGE,
            Answer.UPDATE_MESSAGE,
            Answer.MODAL,
        }
    ),
    InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE: frozenset(
        {Answer.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT}
    ),
    InteractionType.MODAL_SUBMIT: frozenset(
        {
            Answer.CHANNEL_MESSAGE_WITH_SOURCE,
            Answer.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            Answer.DEFERRED_UPDATE_MESSAGE,
            Answer.UPDATE_MESSAGE,
        }
    ),
}

# Answers that update the message the interaction came from; an interaction without
# one (a modal opened from a slash command) cannot give them.
UPDATES_SOURCE = frozenset({Answer.DEFERRED_UPDATE_MESSAGE, Answer.UPDATE_MESSAGE})


class InteractionsResource(Resource):
    """``/interactions/{id}/{token}/callback`` and ``/webhooks/{application_id}/{token}``."""

    def endpoints(self) -> list[Endpoint]:
        """The interaction routes (authorised by the token in the path, not the bot token)."""
        hook = "/webhooks/{webhook_id}/{token}"
        return [
            Endpoint(
                "POST", "/interactions/{interaction_id}/{token}/callback", self.callback, auth=False
            ),
            Endpoint("POST", hook, self.followup, auth=False),
            Endpoint("GET", hook + "/messages/{message}", self.get_webhook_message, auth=False),
            Endpoint("PATCH", hook + "/messages/{message}", self.edit_webhook_message, auth=False),
            Endpoint(
                "DELETE", hook + "/messages/{message}", self.delete_webhook_message, auth=False
            ),
        ]

    def _interaction(self, call: Call, *, by_id: bool) -> InteractionRecord:
        token = call.params["token"]
        record = self.server.interactions_by_token.get(token)
        if by_id:
            if record is None or record.id != int(call.params["interaction_id"]):
                raise unknown("interaction", 10062)
        else:
            if int(call.params["webhook_id"]) != self.world.bot.application_id or record is None:
                raise unknown("Webhook", 10015)
        return record

    def _response_message(
        self,
        record: InteractionRecord,
        payload: dict[str, Any],
        call: Call,
        *,
        ephemeral: bool,
        loading: bool = False,
    ) -> Message:
        channel = self.world.channels[record.channel_id]
        command = record.type == InteractionType.APPLICATION_COMMAND
        message_type = (
            MessageType.CHAT_INPUT_COMMAND
            if command or record.type == InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE
            else MessageType.DEFAULT
        )
        if command and int(record.data.get("type", 1)) != 1:
            message_type = MessageType.CONTEXT_MENU_COMMAND
        user = self.world.users[record.user_id]
        metadata: dict[str, Any] = {
            "id": str(record.id),
            "type": record.type,
            "user": self.world.user_payload(user),
            "authorizing_integration_owners": {"0": str(record.guild_id)}
            if record.guild_id
            else {},
        }
        if command:
            metadata["name"] = record.data.get("name")
            metadata["command_type"] = int(record.data.get("type", 1))
            if record.data.get("target_id") is not None:
                metadata[
                    "target_message_id" if metadata["command_type"] == 3 else "target_user_id"
                ] = record.data["target_id"]
        if record.source_message_id is not None:
            metadata["interacted_message_id"] = str(record.source_message_id)
        if record.original_message_id is not None:
            metadata["original_response_message_id"] = str(record.original_message_id)
        flags = int(payload.get("flags") or 0) & (
            MessageFlag.SUPPRESS_EMBEDS
            | MessageFlag.IS_COMPONENTS_V2
            | MessageFlag.SUPPRESS_NOTIFICATIONS
        )
        if ephemeral:
            flags |= MessageFlag.EPHEMERAL
        if loading:
            flags |= MessageFlag.LOADING
        if isinstance(channel, Thread) and channel.archived and not ephemeral:
            self._unarchive_for_activity(channel)
        return self.world.add_message(
            channel,
            self.world.bot,
            content=payload.get("content") or "",
            embeds=payload.get("embeds") or [],
            components=payload.get("components") or [],
            attachments=self._attachments(call, payload, channel.id),
            flags=flags,
            type_=message_type,
            webhook_id=self.world.bot.application_id,
            application_id=self.world.bot.application_id,
            interaction_metadata=metadata,
            interaction_id=record.id,
            allowed_mentions=payload.get("allowed_mentions"),
            tts=bool(payload.get("tts")),
        )

    def _interaction_violation(self, call: Call, rule: str, text: str, error: ApiError) -> ApiError:
        self.server.record_violation(Violation(rule, text, call.method, call.path, call.json))
        error.recorded = True
        return error

    async def callback(self, call: Call) -> Reply:
        """POST /interactions/{id}/{token}/callback (the initial response, once)."""
        record = self._interaction(call, by_id=True)
        body = call.json if isinstance(call.json, dict) else {}
        kind = int(body.get("type", 0))
        raw_data = body.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        if record.callback is not None:
            raise self._interaction_violation(
                call,
                "interaction_double_ack",
                f"interaction {record.id} answered twice",
                ApiError(400, 40060, "Interaction has already been acknowledged."),
            )
        age = time.monotonic() - record.created_at
        if age > self.server.interaction_timeout:
            raise self._interaction_violation(
                call,
                "interaction_timeout",
                f"initial response after {age:.2f}s (deadline "
                f"{self.server.interaction_timeout:.1f}s): the user saw "
                "'The application did not respond'",
                unknown("interaction", 10062),
            )
        allowed = ALLOWED_ANSWERS.get(InteractionType(record.type), frozenset())
        if record.source_message_id is None:
            allowed = allowed - UPDATES_SOURCE
        if kind not in allowed:
            raise self._interaction_violation(
                call,
                "interaction_response_type",
                f"callback type {kind} is not valid for interaction type {record.type}",
                invalid_form_body(
                    [
                        (
                            "type",
                            "INTERACTION_RESPONSE_TYPE_INVALID",
                            f"Response type {kind} is invalid here.",
                        )
                    ]
                ),
            )
        answer = Answer(kind)
        ephemeral = bool(int(data.get("flags") or 0) & MessageFlag.EPHEMERAL)
        message: Message | None = None
        if answer == Answer.CHANNEL_MESSAGE_WITH_SOURCE:
            self._reject(
                check_message(
                    data,
                    creating=True,
                    has_files=bool(call.files),
                    require_safe_mentions=self.server.ping_safety,
                ),
                call,
            )
            message = self._response_message(record, data, call, ephemeral=ephemeral)
            record.original_message_id = message.id
        elif answer == Answer.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            message = self._response_message(
                record, {"flags": data.get("flags")}, call, ephemeral=ephemeral, loading=True
            )
            record.original_message_id = message.id
        elif answer == Answer.UPDATE_MESSAGE:
            self._reject(
                check_message(
                    data,
                    creating=False,
                    has_files=bool(call.files),
                    require_safe_mentions=self.server.ping_safety,
                ),
                call,
            )
            assert record.source_message_id is not None
            message = self.world.messages[record.source_message_id]
            self.world.edit_message(message, dict(data))
            record.original_message_id = message.id
        elif answer == Answer.DEFERRED_UPDATE_MESSAGE:
            record.original_message_id = record.source_message_id
        elif answer == Answer.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT:
            choices = list(data.get("choices") or [])
            if len(choices) > 25:
                self._reject(
                    [
                        Problem(
                            "autocomplete_limits",
                            "data.choices",
                            "BASE_TYPE_MAX_LENGTH",
                            "Must be 25 or fewer in length.",
                        )
                    ],
                    call,
                )
            record.autocomplete_choices = choices
        elif answer == Answer.MODAL:
            self._reject(check_modal(data), call)
            record.modal = dict(data)
        record.responses.append(
            InteractionResponse("callback", answer, body, None if message is None else message.id)
        )
        if call.query.get("with_response") not in ("1", "true", "True"):
            return NO_CONTENT
        interaction: dict[str, Any] = {"id": str(record.id), "type": record.type}
        resource: dict[str, Any] = {"type": int(answer)}
        if message is not None:
            interaction["response_message_id"] = str(message.id)
            interaction["response_message_loading"] = message.loading
            interaction["response_message_ephemeral"] = message.ephemeral
            resource["message"] = self.world.message_payload(message, with_member=False)
        return ok({"interaction": interaction, "resource": resource})

    async def followup(self, call: Call) -> Reply:
        """POST /webhooks/{application_id}/{token}: a follow-up message."""
        record = self._interaction(call, by_id=False)
        payload = call.json if isinstance(call.json, dict) else {}
        if record.callback is None:
            raise self._interaction_violation(
                call,
                "followup_before_ack",
                f"follow-up for interaction {record.id} before the initial response",
                unknown("Webhook", 10015),
            )
        self._reject(
            check_message(
                payload,
                creating=True,
                has_files=bool(call.files),
                require_safe_mentions=self.server.ping_safety,
            ),
            call,
        )
        ephemeral = bool(int(payload.get("flags") or 0) & MessageFlag.EPHEMERAL)
        message = self._response_message(record, payload, call, ephemeral=ephemeral)
        record.responses.append(InteractionResponse("followup", None, payload, message.id))
        if call.query.get("wait") in ("true", "1", "True"):
            return ok(self.world.message_payload(message, with_member=False))
        return NO_CONTENT

    def _webhook_message(self, call: Call, record: InteractionRecord) -> Message:
        ref = call.params["message"]
        if ref == "@original":
            if record.original_message_id is None:
                raise unknown("Message", 10008)
            message = self.world.messages.get(record.original_message_id)
        else:
            message = self.world.messages.get(int(ref)) if ref.isdigit() else None
            if (
                message is not None
                and message.interaction_id != record.id
                and message.id != record.original_message_id
            ):
                message = None
        if message is None or message.deleted:
            raise unknown("Message", 10008)
        return message

    async def get_webhook_message(self, call: Call) -> Reply:
        """GET /webhooks/{application_id}/{token}/messages/{@original|id}."""
        record = self._interaction(call, by_id=False)
        return ok(
            self.world.message_payload(self._webhook_message(call, record), with_member=False)
        )

    async def edit_webhook_message(self, call: Call) -> Reply:
        """PATCH /webhooks/{application_id}/{token}/messages/{@original|id}."""
        record = self._interaction(call, by_id=False)
        message = self._webhook_message(call, record)
        payload = call.json if isinstance(call.json, dict) else {}
        self._reject(
            check_message(
                payload,
                creating=False,
                has_files=bool(call.files),
                require_safe_mentions=self.server.ping_safety,
            ),
            call,
        )
        self._apply_edit(message, call, payload)
        kind = "edit_original" if call.params["message"] == "@original" else "edit_followup"
        record.responses.append(InteractionResponse(kind, None, payload, message.id))
        return ok(self.world.message_payload(message, with_member=False))

    async def delete_webhook_message(self, call: Call) -> Reply:
        """DELETE /webhooks/{application_id}/{token}/messages/{@original|id}."""
        record = self._interaction(call, by_id=False)
        message = self._webhook_message(call, record)
        self.world.delete_message(message)
        kind = "delete_original" if call.params["message"] == "@original" else "delete_followup"
        record.responses.append(InteractionResponse(kind, None, {}, message.id))
        return NO_CONTENT
