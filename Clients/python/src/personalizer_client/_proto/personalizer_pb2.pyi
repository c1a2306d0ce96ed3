from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Feature(_message.Message):
    __slots__ = ("name", "text", "number")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    name: str
    text: str
    number: float
    def __init__(self, name: _Optional[str] = ..., text: _Optional[str] = ..., number: _Optional[float] = ...) -> None: ...

class Namespace(_message.Message):
    __slots__ = ("name", "features")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    name: str
    features: _containers.RepeatedCompositeFieldContainer[Feature]
    def __init__(self, name: _Optional[str] = ..., features: _Optional[_Iterable[_Union[Feature, _Mapping]]] = ...) -> None: ...

class Action(_message.Message):
    __slots__ = ("id", "features")
    ID_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    id: str
    features: _containers.RepeatedCompositeFieldContainer[Namespace]
    def __init__(self, id: _Optional[str] = ..., features: _Optional[_Iterable[_Union[Namespace, _Mapping]]] = ...) -> None: ...

class RankRequest(_message.Message):
    __slots__ = ("context_features", "actions", "excluded_action_ids", "event_id", "defer_activation")
    CONTEXT_FEATURES_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_ACTION_IDS_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    DEFER_ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    context_features: _containers.RepeatedCompositeFieldContainer[Namespace]
    actions: _containers.RepeatedCompositeFieldContainer[Action]
    excluded_action_ids: _containers.RepeatedScalarFieldContainer[str]
    event_id: str
    defer_activation: bool
    def __init__(self, context_features: _Optional[_Iterable[_Union[Namespace, _Mapping]]] = ..., actions: _Optional[_Iterable[_Union[Action, _Mapping]]] = ..., excluded_action_ids: _Optional[_Iterable[str]] = ..., event_id: _Optional[str] = ..., defer_activation: bool = ...) -> None: ...

class RankedAction(_message.Message):
    __slots__ = ("id", "probability")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    id: str
    probability: float
    def __init__(self, id: _Optional[str] = ..., probability: _Optional[float] = ...) -> None: ...

class RankResponse(_message.Message):
    __slots__ = ("ranking", "event_id", "reward_action_id", "model_version")
    RANKING_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REWARD_ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ranking: _containers.RepeatedCompositeFieldContainer[RankedAction]
    event_id: str
    reward_action_id: str
    model_version: int
    def __init__(self, ranking: _Optional[_Iterable[_Union[RankedAction, _Mapping]]] = ..., event_id: _Optional[str] = ..., reward_action_id: _Optional[str] = ..., model_version: _Optional[int] = ...) -> None: ...

class RewardRequest(_message.Message):
    __slots__ = ("event_id", "value")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    value: float
    def __init__(self, event_id: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...

class RewardResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ActivateRequest(_message.Message):
    __slots__ = ("event_id",)
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    def __init__(self, event_id: _Optional[str] = ...) -> None: ...

class ActivateResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("model_version", "rank_calls", "reward_calls", "learned_events", "pending_events", "activate_calls", "unmatched_rewards", "unmatched_activations", "dropped_not_activated", "backpressure_stalls", "published_at_unix_ms", "log_bytes", "oldest_event_unix_ms", "last_fsync_unix_ms", "storage_error", "over_capacity_events")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    RANK_CALLS_FIELD_NUMBER: _ClassVar[int]
    REWARD_CALLS_FIELD_NUMBER: _ClassVar[int]
    LEARNED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    PENDING_EVENTS_FIELD_NUMBER: _ClassVar[int]
    ACTIVATE_CALLS_FIELD_NUMBER: _ClassVar[int]
    UNMATCHED_REWARDS_FIELD_NUMBER: _ClassVar[int]
    UNMATCHED_ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    DROPPED_NOT_ACTIVATED_FIELD_NUMBER: _ClassVar[int]
    BACKPRESSURE_STALLS_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    LOG_BYTES_FIELD_NUMBER: _ClassVar[int]
    OLDEST_EVENT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_FSYNC_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    STORAGE_ERROR_FIELD_NUMBER: _ClassVar[int]
    OVER_CAPACITY_EVENTS_FIELD_NUMBER: _ClassVar[int]
    model_version: int
    rank_calls: int
    reward_calls: int
    learned_events: int
    pending_events: int
    activate_calls: int
    unmatched_rewards: int
    unmatched_activations: int
    dropped_not_activated: int
    backpressure_stalls: int
    published_at_unix_ms: int
    log_bytes: int
    oldest_event_unix_ms: int
    last_fsync_unix_ms: int
    storage_error: str
    over_capacity_events: int
    def __init__(self, model_version: _Optional[int] = ..., rank_calls: _Optional[int] = ..., reward_calls: _Optional[int] = ..., learned_events: _Optional[int] = ..., pending_events: _Optional[int] = ..., activate_calls: _Optional[int] = ..., unmatched_rewards: _Optional[int] = ..., unmatched_activations: _Optional[int] = ..., dropped_not_activated: _Optional[int] = ..., backpressure_stalls: _Optional[int] = ..., published_at_unix_ms: _Optional[int] = ..., log_bytes: _Optional[int] = ..., oldest_event_unix_ms: _Optional[int] = ..., last_fsync_unix_ms: _Optional[int] = ..., storage_error: _Optional[str] = ..., over_capacity_events: _Optional[int] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class Request(_message.Message):
    __slots__ = ("id", "loop", "token", "rank", "reward", "activate", "status")
    ID_FIELD_NUMBER: _ClassVar[int]
    LOOP_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    ACTIVATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    id: int
    loop: str
    token: str
    rank: RankRequest
    reward: RewardRequest
    activate: ActivateRequest
    status: StatusRequest
    def __init__(self, id: _Optional[int] = ..., loop: _Optional[str] = ..., token: _Optional[str] = ..., rank: _Optional[_Union[RankRequest, _Mapping]] = ..., reward: _Optional[_Union[RewardRequest, _Mapping]] = ..., activate: _Optional[_Union[ActivateRequest, _Mapping]] = ..., status: _Optional[_Union[StatusRequest, _Mapping]] = ...) -> None: ...

class Response(_message.Message):
    __slots__ = ("id", "rank", "reward", "activate", "status", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    ACTIVATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: int
    rank: RankResponse
    reward: RewardResponse
    activate: ActivateResponse
    status: StatusResponse
    error: Error
    def __init__(self, id: _Optional[int] = ..., rank: _Optional[_Union[RankResponse, _Mapping]] = ..., reward: _Optional[_Union[RewardResponse, _Mapping]] = ..., activate: _Optional[_Union[ActivateResponse, _Mapping]] = ..., status: _Optional[_Union[StatusResponse, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...
