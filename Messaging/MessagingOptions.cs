using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.Messaging;

/// <summary>Broker settings both services must agree on (section <c>Messaging</c>): the API declares the worker's
/// queues on publish, the worker consumes them, and RabbitMQ refuses a queue redeclared with another type.</summary>
public sealed class MessagingOptions
{
    public const string SectionName = "Messaging";
    public const string Classic = "classic";
    public const string Quorum = "quorum";

    /// <summary><c>classic</c> or <c>quorum</c>: the type of the usage and budget-change queues. Quorum queues are
    /// replicated by Raft on a RabbitMQ cluster (on one node they still run, unreplicated).</summary>
    [Required]
    [RegularExpression("^(classic|quorum)$", ErrorMessage = "Messaging:QueueType must be 'classic' or 'quorum'.")]
    public string QueueType { get; set; } = Classic;

    public bool IsQuorum => QueueType == Quorum;
}
