/**
 * BCD element types: the one table of element names (bcdedit's names and the BCD WMI
 * provider's symbols), shared by the decoder here and the BCD editor (issue #9).
 *
 * An element type is a 32-bit number (Microsoft "BcdElementType"): bits 28-31 the class
 * (1 library, 2 application, 3 device, 4 template/hidden, 5 OEM), bits 24-27 the data format
 * (1 device, 2 string, 3 object GUID, 4 object list, 5 integer, 6 boolean, 7 integer list),
 * bits 0-23 the subtype. Library (class 1) elements mean the same in every object;
 * application (class 2) elements depend on the application the object describes (the same
 * number 0x21000001 is "osdevice" in an OS loader and "filedevice" in a resume object);
 * device (class 3) elements live in device-options objects.
 *
 * Sources: Microsoft's BCD WMI enumerations (BcdLibraryElementTypes, BcdBootMgrElementTypes,
 * BcdOSLoaderElementTypes, BcdResumeElementTypes, BcdMemDiagElementTypes,
 * BcdDeviceObjectElementTypes, learn.microsoft.com "previous-versions/windows/desktop/bcd"),
 * the bcdedit names from `bcdedit /? types` and Geoff Chappell's BCD element notes.
 * Element types not in these tables are shown as bcdedit shows them: `custom:XXXXXXXX`.
 */

export type BcdFormat = 'device' | 'string' | 'object' | 'objectlist' | 'integer' | 'boolean' | 'integerlist';

/** Which table an element type is looked up in. */
export type BcdElementScope = 'library' | 'bootmgr' | 'osloader' | 'resume' | 'memdiag' | 'ntldr' | 'bootsector' | 'startup' | 'device';

export interface BcdElementInfo {
  /** The element type number. */
  type: number;
  /** bcdedit's name ("description", "osdevice"). */
  name: string;
  /** The BCD WMI provider's symbol (BcdLibraryString_Description). */
  symbol: string;
  /** Names bcdedit shows for some integer values. */
  values?: Readonly<Record<number, string>>;
}

const FORMATS: readonly (BcdFormat | undefined)[] = [undefined, 'device', 'string', 'object', 'objectlist', 'integer', 'boolean', 'integerlist'];

/** The data format encoded in bits 24-27 of an element type, or undefined for values 0 and 8-15. */
export function elementFormat(type: number): BcdFormat | undefined {
  return FORMATS[Math.floor(type / 0x1000000) % 16];
}

/** The class in bits 28-31 (1 library, 2 application, 3 device, 4 template, 5 OEM). */
export function elementClass(type: number): number {
  return Math.floor(type / 0x10000000) % 16;
}

const DEBUG_TYPE = { 0: 'Serial', 1: '1394', 2: 'USB', 3: 'NET', 4: 'Local' } as const;
const DISPLAY_MESSAGE = {
  0: 'Default', 1: 'Resume', 2: 'HyperV', 3: 'Recovery', 4: 'StartupRepair', 5: 'SystemImageRecovery',
  6: 'CommandPrompt', 7: 'SystemRestore', 8: 'PushButtonReset',
} as const;
const BOOT_MENU_POLICY = { 0: 'Legacy', 1: 'Standard' } as const;

type Row = readonly [type: number, name: string, symbol: string, values?: Readonly<Record<number, string>>];

/** Class 1: valid in every object. */
const LIBRARY: readonly Row[] = [
  [0x11000001, 'device', 'BcdLibraryDevice_ApplicationDevice'],
  [0x12000002, 'path', 'BcdLibraryString_ApplicationPath'],
  [0x12000004, 'description', 'BcdLibraryString_Description'],
  [0x12000005, 'locale', 'BcdLibraryString_PreferredLocale'],
  [0x14000006, 'inherit', 'BcdLibraryObjectList_InheritedObjects'],
  [0x15000007, 'truncatememory', 'BcdLibraryInteger_TruncatePhysicalMemory'],
  [0x14000008, 'recoverysequence', 'BcdLibraryObjectList_RecoverySequence'],
  [0x16000009, 'recoveryenabled', 'BcdLibraryBoolean_AutoRecoveryEnabled'],
  [0x1700000a, 'badmemorylist', 'BcdLibraryIntegerList_BadMemoryList'],
  [0x1600000b, 'badmemoryaccess', 'BcdLibraryBoolean_AllowBadMemoryAccess'],
  [0x1500000c, 'firstmegabytepolicy', 'BcdLibraryInteger_FirstMegabytePolicy', { 0: 'UseNone', 1: 'UseAll', 2: 'UsePrivate' }],
  [0x1500000d, 'relocatephysical', 'BcdLibraryInteger_RelocatePhysicalMemory'],
  [0x1500000e, 'avoidlowmemory', 'BcdLibraryInteger_AvoidLowPhysicalMemory'],
  [0x1600000f, 'traditionalkseg', 'BcdLibraryBoolean_TraditionalKsegMappings'],
  [0x16000010, 'bootdebug', 'BcdLibraryBoolean_DebuggerEnabled'],
  [0x15000011, 'debugtype', 'BcdLibraryInteger_DebuggerType', DEBUG_TYPE],
  [0x15000012, 'debugaddress', 'BcdLibraryInteger_SerialDebuggerPortAddress'],
  [0x15000013, 'debugport', 'BcdLibraryInteger_SerialDebuggerPort'],
  [0x15000014, 'baudrate', 'BcdLibraryInteger_SerialDebuggerBaudRate'],
  [0x15000015, 'channel', 'BcdLibraryInteger_1394DebuggerChannel'],
  [0x12000016, 'targetname', 'BcdLibraryString_UsbDebuggerTargetName'],
  [0x16000017, 'noumex', 'BcdLibraryBoolean_DebuggerIgnoreUsermodeExceptions'],
  [0x15000018, 'debugstart', 'BcdLibraryInteger_DebuggerStartPolicy', { 0: 'Active', 1: 'AutoEnable', 2: 'Disable' }],
  [0x12000019, 'busparams', 'BcdLibraryString_DebuggerBusParameters'],
  [0x1500001a, 'hostip', 'BcdLibraryInteger_DebuggerNetHostIP'],
  [0x1500001b, 'port', 'BcdLibraryInteger_DebuggerNetPort'],
  [0x1600001c, 'dhcp', 'BcdLibraryBoolean_DebuggerNetDhcp'],
  [0x1200001d, 'key', 'BcdLibraryString_DebuggerNetKey'],
  [0x1600001e, 'vm', 'BcdLibraryBoolean_DebuggerNetVM'],
  [0x16000020, 'bootems', 'BcdLibraryBoolean_EmsEnabled'],
  [0x15000022, 'emsport', 'BcdLibraryInteger_EmsPort'],
  [0x15000023, 'emsbaudrate', 'BcdLibraryInteger_EmsBaudRate'],
  [0x12000030, 'loadoptions', 'BcdLibraryString_LoadOptionsString'],
  [0x16000040, 'advancedoptions', 'BcdLibraryBoolean_DisplayAdvancedOptions'],
  [0x16000041, 'optionsedit', 'BcdLibraryBoolean_DisplayOptionsEdit'],
  [0x15000042, 'keyringaddress', 'BcdLibraryInteger_FVEKeyRingAddress'],
  [0x11000043, 'bootstatdevice', 'BcdLibraryDevice_BsdLogDevice'],
  [0x12000044, 'bootstatfilepath', 'BcdLibraryString_BsdLogPath'],
  [0x16000045, 'preservebootstat', 'BcdLibraryBoolean_BsdPreserveLog'],
  [0x16000046, 'graphicsmodedisabled', 'BcdLibraryBoolean_GraphicsModeDisabled'],
  [0x15000047, 'configaccesspolicy', 'BcdLibraryInteger_ConfigAccessPolicy', { 0: 'Default', 1: 'DisallowMmConfig' }],
  [0x16000048, 'nointegritychecks', 'BcdLibraryBoolean_DisableIntegrityChecks'],
  [0x16000049, 'testsigning', 'BcdLibraryBoolean_AllowPrereleaseSignatures'],
  [0x1200004a, 'fontpath', 'BcdLibraryString_FontPath'],
  [0x1500004b, 'integrityservices', 'BcdLibraryInteger_SiPolicy', { 0: 'Default', 1: 'Enable', 2: 'Disable' }],
  [0x1500004c, 'volumebandid', 'BcdLibraryInteger_FveBandId'],
  [0x16000050, 'extendedinput', 'BcdLibraryBoolean_ConsoleExtendedInput'],
  [0x15000051, 'initialconsoleinput', 'BcdLibraryInteger_InitialConsoleInput'],
  [0x15000052, 'graphicsresolution', 'BcdLibraryInteger_GraphicsResolution', { 0: '1024x768', 1: '800x600', 2: '1024x600' }],
  [0x16000053, 'restartonfailure', 'BcdLibraryBoolean_RestartOnFailure'],
  [0x16000054, 'highestmode', 'BcdLibraryBoolean_GraphicsForceHighestMode'],
  [0x16000060, 'isolatedcontext', 'BcdLibraryBoolean_IsolatedExecutionContext'],
  [0x15000065, 'displaymessage', 'BcdLibraryInteger_BootUxDisplayMessage', DISPLAY_MESSAGE],
  [0x15000066, 'displaymessageoverride', 'BcdLibraryInteger_BootUxDisplayMessageOverride', DISPLAY_MESSAGE],
  [0x16000068, 'nobootuxtext', 'BcdLibraryBoolean_BootUxTextDisable'],
  [0x16000069, 'nobootuxprogress', 'BcdLibraryBoolean_BootUxProgressDisable'],
  [0x1600006a, 'nobootuxfade', 'BcdLibraryBoolean_BootUxFadeDisable'],
  [0x1600006b, 'bootuxreservepooldebug', 'BcdLibraryBoolean_BootUxReservePoolDebug'],
  [0x1600006c, 'bootuxdisabled', 'BcdLibraryBoolean_BootUxDisable'],
  [0x1500006d, 'bootuxfadeframes', 'BcdLibraryInteger_BootUxFadeFrames'],
  [0x1600006e, 'bootuxdumpstats', 'BcdLibraryBoolean_BootUxDumpStats'],
  [0x1600006f, 'bootuxshowstats', 'BcdLibraryBoolean_BootUxShowStats'],
  [0x16000071, 'multibootsystem', 'BcdLibraryBoolean_MultiBootSystem'],
  [0x16000072, 'nokeyboard', 'BcdLibraryBoolean_ForceNoKeyboard'],
  [0x15000073, 'aliaswindowskey', 'BcdLibraryInteger_AliasWindowsKey'],
  [0x16000074, 'bootshutdowndisabled', 'BcdLibraryBoolean_BootShutdownDisabled'],
  [0x15000075, 'performancefrequency', 'BcdLibraryInteger_PerformanceFrequency'],
  [0x15000076, 'securebootrawpolicy', 'BcdLibraryInteger_SecurebootRawPolicy'],
  [0x17000077, 'allowedinmemorysettings', 'BcdLibraryIntegerList_AllowedInMemorySettings'],
  [0x15000079, 'bootuxtransitiontime', 'BcdLibraryInteger_BootUxBitmapTransitionTime'],
  [0x1600007a, 'mobilegraphics', 'BcdLibraryBoolean_TwoBootImages'],
  [0x1600007b, 'forcefipscrypto', 'BcdLibraryBoolean_ForceFipsCrypto'],
  [0x1500007d, 'booterrorux', 'BcdLibraryInteger_BootErrorUx', { 0: 'Legacy', 1: 'Standard', 2: 'Simple' }],
  [0x1600007e, 'flightsigning', 'BcdLibraryBoolean_AllowFlightSignatures'],
  [0x1500007f, 'measuredbootlogformat', 'BcdLibraryInteger_MeasuredBootLogFormat'],
  [0x15000080, 'displayrotation', 'BcdLibraryInteger_DisplayRotation'],
  [0x15000081, 'logcontrol', 'BcdLibraryInteger_LogControl'],
  [0x16000082, 'nofirmwaresync', 'BcdLibraryBoolean_NoFirmwareSync'],
  [0x11000084, 'windowssyspart', 'BcdLibraryDevice_WindowsSystemDevice'],
  [0x16000087, 'numlock', 'BcdLibraryBoolean_NumLockOn'],
  [0x12000088, 'additionalcipolicy', 'BcdLibraryString_AdditionalCiPolicy'],
];

/** Windows Boot Manager (application type 2) and the firmware boot manager (type 1). */
const BOOTMGR: readonly Row[] = [
  [0x24000001, 'displayorder', 'BcdBootMgrObjectList_DisplayOrder'],
  [0x24000002, 'bootsequence', 'BcdBootMgrObjectList_BootSequence'],
  [0x23000003, 'default', 'BcdBootMgrObject_DefaultObject'],
  [0x25000004, 'timeout', 'BcdBootMgrInteger_Timeout'],
  [0x26000005, 'resume', 'BcdBootMgrBoolean_AttemptResume'],
  [0x23000006, 'resumeobject', 'BcdBootMgrObject_ResumeObject'],
  [0x24000007, 'startupsequence', 'BcdBootMgrObjectList_StartupSequence'],
  [0x24000010, 'toolsdisplayorder', 'BcdBootMgrObjectList_ToolsDisplayOrder'],
  [0x26000020, 'displaybootmenu', 'BcdBootMgrBoolean_DisplayBootMenu'],
  [0x26000021, 'noerrordisplay', 'BcdBootMgrBoolean_NoErrorDisplay'],
  [0x21000022, 'bcddevice', 'BcdBootMgrDevice_BcdDevice'],
  [0x22000023, 'bcdfilepath', 'BcdBootMgrString_BcdFilePath'],
  [0x26000024, 'hormenabled', 'BcdBootMgrBoolean_HormEnabled'],
  [0x26000025, 'hiberboot', 'BcdBootMgrBoolean_HiberRoot'],
  [0x22000026, 'passwordoverride', 'BcdBootMgrString_PasswordOverride'],
  [0x22000027, 'pinpassphraseoverride', 'BcdBootMgrString_PinpassPhraseOverride'],
  [0x26000028, 'processcustomactionsfirst', 'BcdBootMgrBoolean_ProcessCustomActionsFirst'],
  [0x27000030, 'customactions', 'BcdBootMgrIntegerList_CustomActionsList'],
  [0x26000031, 'persistbootsequence', 'BcdBootMgrBoolean_PersistBootSequence'],
  [0x26000032, 'skipstartupsequence', 'BcdBootMgrBoolean_SkipStartupSequence'],
];

/** Windows Boot Loader (application type 3: winload). */
const OSLOADER: readonly Row[] = [
  [0x21000001, 'osdevice', 'BcdOSLoaderDevice_OSDevice'],
  [0x22000002, 'systemroot', 'BcdOSLoaderString_SystemRoot'],
  [0x23000003, 'resumeobject', 'BcdOSLoaderObject_AssociatedResumeObject'],
  [0x26000004, 'stampdisks', 'BcdOSLoaderBoolean_StampDisks'],
  [0x26000010, 'detecthal', 'BcdOSLoaderBoolean_DetectKernelAndHal'],
  [0x22000011, 'kernel', 'BcdOSLoaderString_KernelPath'],
  [0x22000012, 'hal', 'BcdOSLoaderString_HalPath'],
  [0x22000013, 'dbgtransport', 'BcdOSLoaderString_DbgTransportPath'],
  [0x25000020, 'nx', 'BcdOSLoaderInteger_NxPolicy', { 0: 'OptIn', 1: 'OptOut', 2: 'AlwaysOff', 3: 'AlwaysOn' }],
  [0x25000021, 'pae', 'BcdOSLoaderInteger_PAEPolicy', { 0: 'Default', 1: 'ForceEnable', 2: 'ForceDisable' }],
  [0x26000022, 'winpe', 'BcdOSLoaderBoolean_WinPEMode'],
  [0x26000024, 'nocrashautoreboot', 'BcdOSLoaderBoolean_DisableCrashAutoReboot'],
  [0x26000025, 'lastknowngood', 'BcdOSLoaderBoolean_UseLastGoodSettings'],
  [0x26000026, 'oslnointegritychecks', 'BcdOSLoaderBoolean_AllowPrereleaseSignatures'],
  [0x26000027, 'osltestsigning', 'BcdOSLoaderBoolean_DisableCodeIntegrityChecks'],
  [0x26000030, 'nolowmem', 'BcdOSLoaderBoolean_NoLowMemory'],
  [0x25000031, 'removememory', 'BcdOSLoaderInteger_RemoveMemory'],
  [0x25000032, 'increaseuserva', 'BcdOSLoaderInteger_IncreaseUserVa'],
  [0x25000033, 'perfmem', 'BcdOSLoaderInteger_PerformaceDataMemory'],
  [0x26000040, 'vga', 'BcdOSLoaderBoolean_UseVgaDriver'],
  [0x26000041, 'quietboot', 'BcdOSLoaderBoolean_DisableBootDisplay'],
  [0x26000042, 'novesa', 'BcdOSLoaderBoolean_DisableVesaBios'],
  [0x26000043, 'novga', 'BcdOSLoaderBoolean_DisableVgaMode'],
  [0x25000050, 'clustermodeaddressing', 'BcdOSLoaderInteger_ClusterModeAddressing'],
  [0x26000051, 'usephysicaldestination', 'BcdOSLoaderBoolean_UsePhysicalDestination'],
  [0x25000052, 'restrictapiccluster', 'BcdOSLoaderInteger_RestrictApicCluster'],
  [0x22000053, 'evstore', 'BcdOSLoaderString_OSLoaderTypeEVStore'],
  [0x26000054, 'uselegacyapicmode', 'BcdOSLoaderBoolean_UseLegacyApicMode'],
  [0x25000055, 'x2apicpolicy', 'BcdOSLoaderInteger_X2ApicPolicy', { 0: 'Default', 1: 'Disable', 2: 'Enable' }],
  [0x26000060, 'onecpu', 'BcdOSLoaderBoolean_UseBootProcessorOnly'],
  [0x25000061, 'numproc', 'BcdOSLoaderInteger_NumberOfProcessors'],
  [0x26000062, 'maxproc', 'BcdOSLoaderBoolean_ForceMaximumProcessors'],
  [0x25000063, 'configflags', 'BcdOSLoaderInteger_ProcessorConfigurationFlags'],
  [0x26000064, 'maxgroup', 'BcdOSLoaderBoolean_MaximizeGroupsCreated'],
  [0x26000065, 'groupaware', 'BcdOSLoaderBoolean_ForceGroupAwareness'],
  [0x25000066, 'groupsize', 'BcdOSLoaderInteger_GroupSize'],
  [0x26000070, 'usefirmwarepcisettings', 'BcdOSLoaderBoolean_UseFirmwarePciSettings'],
  [0x25000071, 'msi', 'BcdOSLoaderInteger_MsiPolicy', { 0: 'Default', 1: 'ForceDisable' }],
  [0x25000072, 'pciexpress', 'BcdOSLoaderInteger_PciExpressPolicy', { 0: 'Default', 1: 'ForceDisable' }],
  [0x25000080, 'safeboot', 'BcdOSLoaderInteger_SafeBoot', { 0: 'Minimal', 1: 'Network', 2: 'DsRepair' }],
  [0x26000081, 'safebootalternateshell', 'BcdOSLoaderBoolean_SafeBootAlternateShell'],
  [0x26000090, 'bootlog', 'BcdOSLoaderBoolean_BootLogInitialization'],
  [0x26000091, 'sos', 'BcdOSLoaderBoolean_VerboseObjectLoadMode'],
  [0x260000a0, 'debug', 'BcdOSLoaderBoolean_KernelDebuggerEnabled'],
  [0x260000a1, 'halbreakpoint', 'BcdOSLoaderBoolean_DebuggerHalBreakpoint'],
  [0x260000a2, 'useplatformclock', 'BcdOSLoaderBoolean_UsePlatformClock'],
  [0x260000a3, 'forcelegacyplatform', 'BcdOSLoaderBoolean_ForceLegacyPlatform'],
  [0x260000a4, 'useplatformtick', 'BcdOSLoaderBoolean_UsePlatformTick'],
  [0x260000a5, 'disabledynamictick', 'BcdOSLoaderBoolean_DisableDynamicTick'],
  [0x250000a6, 'tscsyncpolicy', 'BcdOSLoaderInteger_TscSyncPolicy', { 0: 'Default', 1: 'Legacy', 2: 'Enhanced' }],
  [0x260000b0, 'ems', 'BcdOSLoaderBoolean_EmsEnabled'],
  [0x250000c0, 'forcefailure', 'BcdOSLoaderInteger_ForceFailure'],
  [0x250000c1, 'driverloadfailurepolicy', 'BcdOSLoaderInteger_DriverLoadFailurePolicy', { 0: 'Fatal', 1: 'UseErrorControl' }],
  [0x250000c2, 'bootmenupolicy', 'BcdOSLoaderInteger_BootMenuPolicy', BOOT_MENU_POLICY],
  [0x260000c3, 'onetimeadvancedoptions', 'BcdOSLoaderBoolean_AdvancedOptionsOneTime'],
  [0x260000c4, 'onetimeoptionsedit', 'BcdOSLoaderBoolean_OptionsEditOneTime'],
  [0x250000e0, 'bootstatuspolicy', 'BcdOSLoaderInteger_BootStatusPolicy', {
    0: 'DisplayAllFailures', 1: 'IgnoreAllFailures', 2: 'IgnoreShutdownFailures', 3: 'IgnoreBootFailures',
    4: 'IgnoreCheckpointFailures', 5: 'DisplayShutdownFailures', 6: 'DisplayBootFailures', 7: 'DisplayCheckpointFailures',
  }],
  [0x260000e1, 'disableelamdrivers', 'BcdOSLoaderBoolean_DisableElamDrivers'],
  [0x250000f0, 'hypervisorlaunchtype', 'BcdOSLoaderInteger_HypervisorLaunchType', { 0: 'Off', 1: 'Auto' }],
  [0x220000f1, 'hypervisorpath', 'BcdOSLoaderString_HypervisorPath'],
  [0x260000f2, 'hypervisordebug', 'BcdOSLoaderBoolean_HypervisorDebuggerEnabled'],
  [0x250000f3, 'hypervisordebugtype', 'BcdOSLoaderInteger_HypervisorDebuggerType', { 0: 'Serial', 1: '1394', 3: 'NET' }],
  [0x250000f4, 'hypervisordebugport', 'BcdOSLoaderInteger_HypervisorDebuggerPortNumber'],
  [0x250000f5, 'hypervisorbaudrate', 'BcdOSLoaderInteger_HypervisorDebuggerBaudrate'],
  [0x250000f6, 'hypervisorchannel', 'BcdOSLoaderInteger_HypervisorDebugger1394Channel'],
  [0x250000f7, 'bootux', 'BcdOSLoaderInteger_BootUxPolicy', { 0: 'Disabled', 1: 'Basic', 2: 'Standard' }],
  [0x260000f8, 'hypervisordisableslat', 'BcdOSLoaderBoolean_HypervisorSlatDisabled'],
  [0x220000f9, 'hypervisorbusparams', 'BcdOSLoaderString_HypervisorDebuggerBusParams'],
  [0x250000fa, 'hypervisornumproc', 'BcdOSLoaderInteger_HypervisorNumProc'],
  [0x250000fb, 'hypervisorrootprocpernode', 'BcdOSLoaderInteger_HypervisorRootProcPerNode'],
  [0x260000fc, 'hypervisoruselargevtlb', 'BcdOSLoaderBoolean_HypervisorUseLargeVTlb'],
  [0x250000fd, 'hypervisorhostip', 'BcdOSLoaderInteger_HypervisorDebuggerNetHostIp'],
  [0x250000fe, 'hypervisorhostport', 'BcdOSLoaderInteger_HypervisorDebuggerNetHostPort'],
  [0x250000ff, 'hypervisordebugpages', 'BcdOSLoaderInteger_HypervisorDebuggerPages'],
  [0x25000100, 'tpmbootentropy', 'BcdOSLoaderInteger_TpmBootEntropyPolicy', { 0: 'Default', 1: 'ForceDisable', 2: 'ForceEnable' }],
  [0x22000110, 'hypervisorusekey', 'BcdOSLoaderString_HypervisorDebuggerNetKey'],
  [0x22000112, 'hypervisorproductskutype', 'BcdOSLoaderString_HypervisorProductSkuType'],
  [0x25000113, 'hypervisorrootproc', 'BcdOSLoaderInteger_HypervisorRootProc'],
  [0x26000114, 'hypervisordhcp', 'BcdOSLoaderBoolean_HypervisorDebuggerNetDhcp'],
  [0x25000115, 'hypervisoriommupolicy', 'BcdOSLoaderInteger_HypervisorIommuPolicy', { 0: 'Default', 1: 'Enable', 2: 'Disable' }],
  [0x26000116, 'hypervisorusevapic', 'BcdOSLoaderBoolean_HypervisorUseVApic'],
  [0x22000117, 'hypervisorloadoptions', 'BcdOSLoaderString_HypervisorLoadOptions'],
  [0x25000118, 'hypervisormsrfilterpolicy', 'BcdOSLoaderInteger_HypervisorMsrFilterPolicy'],
  [0x25000119, 'hypervisormmionxpolicy', 'BcdOSLoaderInteger_HypervisorMmioNxPolicy'],
  [0x2500011a, 'hypervisorschedulertype', 'BcdOSLoaderInteger_HypervisorSchedulerType', { 0: 'Classic', 1: 'Core', 2: 'Root' }],
  [0x25000120, 'xsavepolicy', 'BcdOSLoaderInteger_XSavePolicy'],
  [0x25000121, 'xsaveaddfeature0', 'BcdOSLoaderInteger_XSaveAddFeature0'],
  [0x25000122, 'xsaveaddfeature1', 'BcdOSLoaderInteger_XSaveAddFeature1'],
  [0x25000123, 'xsaveaddfeature2', 'BcdOSLoaderInteger_XSaveAddFeature2'],
  [0x25000124, 'xsaveaddfeature3', 'BcdOSLoaderInteger_XSaveAddFeature3'],
  [0x25000125, 'xsaveaddfeature4', 'BcdOSLoaderInteger_XSaveAddFeature4'],
  [0x25000126, 'xsaveaddfeature5', 'BcdOSLoaderInteger_XSaveAddFeature5'],
  [0x25000127, 'xsaveaddfeature6', 'BcdOSLoaderInteger_XSaveAddFeature6'],
  [0x25000128, 'xsaveaddfeature7', 'BcdOSLoaderInteger_XSaveAddFeature7'],
  [0x25000129, 'xsaveremovefeature', 'BcdOSLoaderInteger_XSaveRemoveFeature'],
  [0x2500012a, 'xsaveprocessorsmask', 'BcdOSLoaderInteger_XSaveProcessorsMask'],
  [0x2500012b, 'xsavedisable', 'BcdOSLoaderInteger_XSaveDisable'],
  [0x2500012c, 'kerneldebugtype', 'BcdOSLoaderInteger_KernelDebuggerType'],
  [0x2200012d, 'kernelbusparams', 'BcdOSLoaderString_KernelDebuggerBusParameters'],
  [0x2500012e, 'kerneldebugaddress', 'BcdOSLoaderInteger_KernelDebuggerPortAddress'],
  [0x2500012f, 'kerneldebugport', 'BcdOSLoaderInteger_KernelDebuggerPortNumber'],
  [0x25000130, 'claimedtpmcounter', 'BcdOSLoaderInteger_ClaimedTpmCounter'],
  [0x25000131, 'kernelchannel', 'BcdOSLoaderInteger_KernelDebugger1394Channel'],
  [0x22000132, 'kerneltargetname', 'BcdOSLoaderString_KernelDebuggerUsbTargetname'],
  [0x25000133, 'kernelhostip', 'BcdOSLoaderInteger_KernelDebuggerNetHostIp'],
  [0x25000134, 'kernelport', 'BcdOSLoaderInteger_KernelDebuggerNetHostPort'],
  [0x26000135, 'kerneldhcp', 'BcdOSLoaderBoolean_KernelDebuggerNetDhcp'],
  [0x22000136, 'kernelkey', 'BcdOSLoaderString_KernelDebuggerNetKey'],
  [0x22000137, 'imchivename', 'BcdOSLoaderString_IMCHiveName'],
  [0x21000138, 'imcdevice', 'BcdOSLoaderDevice_IMCDevice'],
  [0x25000139, 'kernelbaudrate', 'BcdOSLoaderInteger_KernelDebuggerBaudrate'],
  [0x22000140, 'mfgmode', 'BcdOSLoaderString_ManufacturingMode'],
  [0x26000141, 'event', 'BcdOSLoaderBoolean_EventLoggingEnabled'],
  [0x25000142, 'vsmlaunchtype', 'BcdOSLoaderInteger_VsmLaunchType', { 0: 'Off', 1: 'Auto' }],
  [0x25000144, 'hypervisorenforcedcodeintegrity', 'BcdOSLoaderInteger_HypervisorEnforcedCodeIntegrity', { 0: 'Disable', 1: 'Enable', 2: 'Strict' }],
  [0x21000150, 'systemdatadevice', 'BcdOSLoaderDevice_SystemDataDevice'],
  [0x21000151, 'osarcdevice', 'BcdOSLoaderDevice_OsArcDevice'],
  [0x21000153, 'osdatadevice', 'BcdOSLoaderDevice_OsDataDevice'],
  [0x21000154, 'bspdevice', 'BcdOSLoaderDevice_BspDevice'],
  [0x21000155, 'bspfilepath', 'BcdOSLoaderDevice_BspFilepath'],
];

/** Resume from Hibernate (application type 4: winresume). */
const RESUME: readonly Row[] = [
  [0x21000001, 'filedevice', 'BcdResumeDevice_HiberFileDevice'],
  [0x22000002, 'filepath', 'BcdResumeString_HiberFilePath'],
  [0x26000003, 'customsettings', 'BcdResumeBoolean_UseCustomSettings'],
  [0x26000004, 'pae', 'BcdResumeBoolean_x86PaeMode'],
  [0x21000005, 'associatedosdevice', 'BcdResumeDevice_AssociatedOsDevice'],
  [0x26000006, 'debugoptionenabled', 'BcdResumeBoolean_DebugOptionEnabled'],
  [0x25000007, 'bootux', 'BcdResumeInteger_BootMenuUx', { 0: 'Disabled', 1: 'Basic', 2: 'Standard' }],
  [0x25000008, 'bootmenupolicy', 'BcdResumeInteger_BootMenuPolicy', BOOT_MENU_POLICY],
  [0x26000024, 'hormenabled', 'BcdResumeBoolean_HormEnabled'],
];

/** Windows Memory Tester (application type 5: memtest). */
const MEMDIAG: readonly Row[] = [
  [0x25000001, 'passcount', 'BcdMemDiagInteger_PassCount'],
  [0x25000002, 'testmix', 'BcdMemDiagInteger_TestMix', { 0: 'Basic', 1: 'Extended' }],
  [0x25000003, 'failurecount', 'BcdMemDiagInteger_FailureCount'],
  [0x25000004, 'testtofail', 'BcdMemDiagInteger_TestToFail'],
  [0x26000005, 'cacheenable', 'BcdMemDiagBoolean_CacheEnable'],
];

/** Legacy OS loader (application type 6: ntldr) and boot sector (type 8). */
const NTLDR: readonly Row[] = [[0x22000001, 'bpbstring', 'BcdOSLoaderString_BpbString']];
const BOOTSECTOR = NTLDR;

/** Startup application (type 9: PXE). */
const STARTUP: readonly Row[] = [
  [0x26000001, 'pxesoftreboot', 'BcdStartupBoolean_PxeSoftReboot'],
  [0x22000002, 'applicationname', 'BcdStartupString_PxeApplicationName'],
];

/** Device objects (class 3 elements: ramdisk options and the like). */
const DEVICE: readonly Row[] = [
  [0x35000001, 'ramdiskimageoffset', 'BcdDeviceInteger_RamdiskImageOffset'],
  [0x35000002, 'ramdisktftpclientport', 'BcdDeviceInteger_TftpClientPort'],
  [0x31000003, 'ramdisksdidevice', 'BcdDeviceDevice_SdiDevice'],
  [0x32000004, 'ramdisksdipath', 'BcdDeviceString_SdiPath'],
  [0x35000005, 'ramdiskimagelength', 'BcdDeviceInteger_RamdiskImageLength'],
  [0x36000006, 'exportascd', 'BcdDeviceBoolean_RamdiskExportAsCd'],
  [0x35000007, 'ramdisktftpblocksize', 'BcdDeviceInteger_RamdiskTftpBlockSize'],
  [0x35000008, 'ramdisktftpwindowsize', 'BcdDeviceInteger_RamdiskTftpWindowSize'],
  [0x36000009, 'ramdiskmcenabled', 'BcdDeviceBoolean_RamdiskMulticastEnabled'],
  [0x3600000a, 'ramdiskmctftpfallback', 'BcdDeviceBoolean_RamdiskMulticastTftpFallback'],
  [0x3600000b, 'ramdisktftpvarwindow', 'BcdDeviceBoolean_RamdiskTftpVarWindow'],
];

function index(rows: readonly Row[]): ReadonlyMap<number, BcdElementInfo> {
  const m = new Map<number, BcdElementInfo>();
  for (const [type, name, symbol, values] of rows) m.set(type, values ? { type, name, symbol, values } : { type, name, symbol });
  return m;
}

/** Each scope's table (class-1 elements are looked up in `library` from every scope). */
export const BCD_ELEMENT_TABLES: Readonly<Record<BcdElementScope, ReadonlyMap<number, BcdElementInfo>>> = {
  library: index(LIBRARY),
  bootmgr: index(BOOTMGR),
  osloader: index(OSLOADER),
  resume: index(RESUME),
  memdiag: index(MEMDIAG),
  ntldr: index(NTLDR),
  bootsector: index(BOOTSECTOR),
  startup: index(STARTUP),
  device: index(DEVICE),
};

/**
 * What an element type means inside an object whose application elements come from
 * `scope` (undefined: only library and device elements are known).
 */
export function elementInfo(type: number, scope: BcdElementScope | undefined): BcdElementInfo | undefined {
  const cls = elementClass(type);
  if (cls === 1) return BCD_ELEMENT_TABLES.library.get(type);
  if (cls === 3) return BCD_ELEMENT_TABLES.device.get(type);
  if (cls === 2 && scope && scope !== 'library' && scope !== 'device') return BCD_ELEMENT_TABLES[scope].get(type);
  return undefined;
}

/** The bcdedit name of an element, `custom:XXXXXXXX` when unknown. */
export function elementName(type: number, scope: BcdElementScope | undefined): string {
  return elementInfo(type, scope)?.name ?? `custom:${type.toString(16).padStart(8, '0')}`;
}

/** Reverse lookup for editors: bcdedit name (or custom:XXXXXXXX) → element type, in `scope`. */
export function elementTypeByName(name: string, scope: BcdElementScope | undefined): number | undefined {
  const m = /^custom:([0-9a-f]{8})$/i.exec(name);
  if (m) return parseInt(m[1]!, 16);
  const lower = name.toLowerCase();
  const tables: (BcdElementScope | undefined)[] = ['library', scope, 'device'];
  for (const s of tables) {
    if (!s) continue;
    for (const info of BCD_ELEMENT_TABLES[s].values()) if (info.name === lower) return info.type;
  }
  return undefined;
}
