using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace LlmCostTracker.Ledger;

/// <summary>How long the ledger remembers an event it counted (its idempotency claim): <see cref="Window"/> from the
/// event's arrival. Claims live in time-bucketed sets, one a ledger bucket and <see cref="Period"/> (a quarter of
/// the window), each expiring <see cref="Window"/> after its period ends: an event claimed at <c>t</c> is found by
/// every check until <c>t + Window</c>, and forgotten by <c>t + Window + Period</c> at the latest, with no sweeper.
/// A check reads the <see cref="PeriodsChecked"/> sets that can hold claims of the last window. Claims are a 128-bit
/// digest of <c>userId|eventId</c> (the first half of its SHA-256): 16 bytes instead of the text.</summary>
public sealed class ClaimWindow
{
    public const int PeriodsPerWindow = 4;

    public ClaimWindow(TimeSpan window)
    {
        Window = window;
        PeriodSeconds = Math.Max(1, (long)window.TotalSeconds / PeriodsPerWindow);
    }

    public TimeSpan Window { get; }

    public long PeriodSeconds { get; }

    public TimeSpan Period => TimeSpan.FromSeconds(PeriodSeconds);

    /// <summary>The current period and those before it that can hold claims younger than the window.</summary>
    public int PeriodsChecked => (int)((long)Window.TotalSeconds / PeriodSeconds) + 1;

    public long PeriodOf(DateTimeOffset at) => at.ToUnixTimeSeconds() / PeriodSeconds;

    /// <summary>When a period's claim set expires: the window after the period's end.</summary>
    public DateTimeOffset ExpiresAt(long period) => DateTimeOffset.FromUnixTimeSeconds((period + 1) * PeriodSeconds) + Window;

    /// <summary>The period's name in its key: the period length and its index, so a changed window never reads a set
    /// of another length.</summary>
    public string KeyPart(long period) => string.Create(CultureInfo.InvariantCulture, $"{PeriodSeconds}:{period}");

    public static byte[] Digest(string userId, string eventId)
    {
        var text = string.Concat(userId, "|", eventId);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        return hash[..16].ToArray();
    }
}
