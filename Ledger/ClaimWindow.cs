using System.Globalization;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;

namespace LlmCostTracker.Ledger;

/// <summary>How long the ledger remembers an event it counted (its idempotency claim): <see cref="Window"/> from the
/// event's arrival. Claims live in time-bucketed sets, one a ledger bucket and <see cref="Period"/> (a quarter of
/// the window), each expiring <see cref="Window"/> after its period ends: an event claimed at <c>t</c> is found by
/// every check until <c>t + Window</c>, and forgotten by <c>t + Window + Period</c> at the latest, with no sweeper.
/// A check reads the <see cref="PeriodsChecked"/> sets that can hold claims of the last window. Claims are a 128-bit
/// digest of <c>userId|eventId</c> (<see cref="Digest"/>): 16 bytes instead of the text.
/// <para>The digest's form changed (XXH128 instead of the first half of a SHA-256, whose call through OpenSSL was a
/// large share of the worker's CPU an event: BENCHMARKS.md, the claim digest). Claims of the older form stay in a ledger for a window, so from the
/// time a ledger first met this version (<see cref="LedgerKeys.ClaimFormKey"/>) until a window and a period later,
/// every event's claim is checked and taken in both forms (<see cref="BothFormsAt"/>): an event counted before the
/// upgrade, or by a worker of the older version still running beside this one, counts once.</para></summary>
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

    public const int DigestBytes = 16;

    /// <summary>Until when claims are checked and taken in both forms; before the layout check has read when the form
    /// changed, none (it runs before any consumer starts).</summary>
    public DateTimeOffset BothFormsUntil { get; private set; } = DateTimeOffset.MinValue;

    /// <summary>Whether a claim made at <paramref name="now"/> holds both forms (<see cref="BothForms"/>).</summary>
    public bool BothFormsAt(DateTimeOffset now) => now < BothFormsUntil;

    /// <summary>Records when the ledger first met the current form: <paramref name="since"/> the Unix epoch for a
    /// ledger that never held the older one. Both forms are used until the older claims have all expired.</summary>
    public void FormChangedAt(DateTimeOffset since) =>
        BothFormsUntil = since == DateTimeOffset.UnixEpoch ? DateTimeOffset.MinValue : since + Window + Period;

    /// <summary>The claim made at <paramref name="now"/>: <see cref="Digest"/>, or while the form changes
    /// <see cref="BothForms"/>.</summary>
    public byte[] Claim(string userId, string eventId, DateTimeOffset now) => BothFormsAt(now) ? BothForms(userId, eventId) : Digest(userId, eventId);

    /// <summary>The claim of <paramref name="eventId"/> of <paramref name="userId"/>: XXH128 of <c>userId|eventId</c>
    /// in UTF-8. Not a cryptographic hash, and it needs none: whoever could make two events' claims collide holds the
    /// ingest key, and could claim any user's event id outright by posting it.</summary>
    public static byte[] Digest(string userId, string eventId) => XxHash128.Hash(Text(userId, eventId, stackalloc byte[MaxStackText]));

    /// <summary>The claim in the form before XXH128: the first half of the SHA-256 of the same text.</summary>
    public static byte[] LegacyDigest(string userId, string eventId)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Text(userId, eventId, stackalloc byte[MaxStackText]), hash);
        return hash[..DigestBytes].ToArray();
    }

    /// <summary>Both forms, the current one first (the script splits them in half).</summary>
    public static byte[] BothForms(string userId, string eventId) => [.. Digest(userId, eventId), .. LegacyDigest(userId, eventId)];

    private const int MaxStackText = 512;

    private static ReadOnlySpan<byte> Text(string userId, string eventId, Span<byte> buffer)
    {
        var length = Encoding.UTF8.GetByteCount(userId) + 1 + Encoding.UTF8.GetByteCount(eventId);
        var text = length <= buffer.Length ? buffer[..length] : new byte[length];
        var n = Encoding.UTF8.GetBytes(userId, text);
        text[n++] = (byte)'|';
        Encoding.UTF8.GetBytes(eventId, text[n..]);
        return text;
    }
}
