namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>CQE status codes, numbered as Linux <c>enum ib_wc_status</c>.</summary>
public enum NicWcStatus : byte
{
    Success = 0,
    LocalLengthError = 1,
    LocalQpOperationError = 2,
    LocalProtectionError = 4,
    WrFlushError = 5,
    RemoteInvalidRequestError = 9,
    RemoteAccessError = 10,
    RemoteOperationError = 11,
    RetryExceededError = 12,
    RnrRetryExceededError = 13,
    FatalError = 19,
}
