using System;
using System.Collections;
using System.Globalization;
using System.Linq;
using System.Reflection;
using System.Text;

namespace P2pEmu.Emulator.Tests.Topology.Json;

/// <summary>
/// A canonical text form of a description tree, built by reflection over every public property, so two
/// trees compare structurally (the records hold lists, whose record equality is by reference) and a
/// mismatch shows up as a readable diff.
/// </summary>
internal static class TopologyDump
{
    public static string Of(object? value)
    {
        var text = new StringBuilder();
        Write(text, value, 0);
        return text.ToString();
    }

    private static void Write(StringBuilder text, object? value, int depth)
    {
        switch (value)
        {
            case null:
                text.Append("null");
                return;
            case string s:
                text.Append('"').Append(s).Append('"');
                return;
            case IEnumerable items:
                text.Append('[');
                foreach (object? item in items)
                {
                    NewLine(text, depth + 1);
                    Write(text, item, depth + 1);
                }

                text.Append(']');
                return;
            default:
                break;
        }

        Type type = value.GetType();
        if (type.IsPrimitive || type.IsEnum)
        {
            text.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
            return;
        }

        text.Append(type.Name).Append(" {");
        foreach (PropertyInfo property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                     .Where(p => p.GetIndexParameters().Length == 0)
                     .OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            NewLine(text, depth + 1);
            text.Append(property.Name).Append(" = ");
            Write(text, property.GetValue(value), depth + 1);
        }

        text.Append(" }");
    }

    private static void NewLine(StringBuilder text, int depth) => text.Append('\n').Append(' ', depth * 2);
}
